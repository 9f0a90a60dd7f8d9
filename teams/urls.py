from django.contrib.auth import views as auth_views
from django.urls import path

from teams import views

urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path(
        "accounts/password/reset/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("teams/", views.team_list, name="team_list"),
    path("teams/switch", views.team_switch, name="team_switch"),
    path("theme", views.theme_set, name="theme_set"),
    path("teams/<int:team_id>/", views.team_detail, name="team_detail"),
    path("teams/<int:team_id>/rename", views.team_rename, name="team_rename"),
    path("teams/<int:team_id>/leave", views.team_leave, name="team_leave"),
    path("teams/<int:team_id>/budget", views.team_budget, name="team_budget"),
    path("teams/<int:team_id>/invitations", views.invitation_create, name="invitation_create"),
    path(
        "teams/<int:team_id>/invitations/<int:invitation_id>/revoke",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path(
        "teams/<int:team_id>/members/<int:membership_id>/role",
        views.member_role,
        name="member_role",
    ),
    path(
        "teams/<int:team_id>/members/<int:membership_id>/remove",
        views.member_remove,
        name="member_remove",
    ),
    path(
        "teams/<int:team_id>/members/<int:membership_id>/hand-over",
        views.member_hand_over,
        name="member_hand_over",
    ),
    path(
        "teams/<int:team_id>/members/<int:membership_id>/cap",
        views.member_cap,
        name="member_cap",
    ),
    path("invite/<str:token>/", views.invitation, name="invitation"),
]
