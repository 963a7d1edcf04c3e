"""Forms for sign-up, teams and tokens; the rules themselves live in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm

from hackathon.accounts.login_limits import login_failure_record, login_retry_after
from hackathon.accounts.services import TEAM_NAME_MAX_LENGTH, TOKEN_NAME_MAX_LENGTH


class SignupForm(UserCreationForm):
    email = forms.EmailField(
        required=True,
        help_text="Used only to reset your password.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email address already exists.")
        return email


class TeamCreateForm(forms.Form):
    # The length limits are checked by the service (with a precise message); maxlength
    # in the browser would silently truncate a pasted name instead.
    name = forms.CharField(
        label="Team name",
        required=False,
        strip=False,
        help_text=f"1 to {TEAM_NAME_MAX_LENGTH} characters, unique (ignoring case).",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class TeamJoinForm(forms.Form):
    code = forms.CharField(
        label="Invite code",
        required=False,
        help_text="Ask a member of the team for it, or open their invite link.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        label="Token name",
        required=False,
        help_text=f"Where you will use it, e.g. “laptop” (at most {TOKEN_NAME_MAX_LENGTH} characters).",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class ThrottledAuthenticationForm(AuthenticationForm):
    """The login form, refusing attempts once an address or a username has failed too often."""

    def clean(self) -> dict[str, Any]:
        username = str(self.data.get("username") or "").strip()[:150]
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        wait = login_retry_after(address=address, username=username)
        if wait is not None:
            minutes = max(1, -(-wait // 60))
            raise forms.ValidationError(
                f"Too many failed logins. Try again in {minutes} minute{'s' if minutes > 1 else ''}.",
                code="too_many_attempts",
            )
        try:
            return super().clean()
        except forms.ValidationError:
            if username:
                login_failure_record(address=address, username=username)
            raise
