from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import EmailStr, Field, computed_field

from eros.api.schemas.base import ApiModel, SuccessResponse
from eros.api.schemas.text import Text

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
MAX_NAME_LENGTH = 100
MAX_REFRESH_TOKEN_LENGTH = 512

NewPassword = Annotated[str, Text(MAX_PASSWORD_LENGTH, min_length=MIN_PASSWORD_LENGTH)]
Password = Annotated[str, Text(MAX_PASSWORD_LENGTH)]


class RegisterRequest(ApiModel):
    email: EmailStr
    password: NewPassword
    name: Annotated[str, Text(MAX_NAME_LENGTH, strip_whitespace=True)]


class LoginRequest(ApiModel):
    email: EmailStr
    password: Password


class RefreshRequest(ApiModel):
    refresh_token: Annotated[str, Text(MAX_REFRESH_TOKEN_LENGTH)]


class RegistrationAccepted(SuccessResponse):
    # The same answer whether or not the address already had an account (docs/api.md).
    message: str = Field(
        description="The same for every accepted registration: log in to get tokens."
    )


class LoggedOut(SuccessResponse):
    message: str


class UserOut(ApiModel):
    id: UUID
    email: str
    name: str
    role: Literal["user", "admin"]
    created_at: datetime


class TokenPair(ApiModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_expires_at: datetime


class AuthResponse(TokenPair):
    user: UserOut

    # The source documents' names (docs/api.md#versioning), computed so each fact has one
    # owner: `token` is `accessToken`, `userId` is `user.id`.
    @computed_field(description="Always true: errors have the error shape instead.")
    def success(self) -> bool:
        return True

    @computed_field(description="The same as `accessToken` (the source documents' name).")
    def token(self) -> str:
        return self.access_token

    @computed_field(description="The same as `user.id`.")
    def user_id(self) -> UUID:
        return self.user.id
