from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path

from hackathon.accounts import views
from hackathon.accounts.forms import ThrottledAuthenticationForm

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(authentication_form=ThrottledAuthenticationForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", views.signup, name="signup"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(extra_email_context={"site_name": settings.SITE_NAME}),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/", views.api_token_create_view, name="api_token_create"),
    path(
        "profile/tokens/<int:token_id>/revoke/",
        views.api_token_revoke_view,
        name="api_token_revoke",
    ),
    path("team/", views.team, name="team"),
    path("team/create/", views.team_create_view, name="team_create"),
    path("team/join/", views.team_join_view, name="team_join"),
    path("team/join/<str:code>/", views.team_join_link, name="team_join_link"),
    path("team/leave/", views.team_leave_view, name="team_leave"),
    path(
        "team/members/<int:user_id>/remove/",
        views.team_remove_member_view,
        name="team_remove_member",
    ),
    path("team/regenerate-code/", views.team_regenerate_code_view, name="team_regenerate_code"),
]
