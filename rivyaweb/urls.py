from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from credits import dashboard as credit_audit
from rivyaweb import views
from sandbox import urls as sandbox_urls

# Django's form views treat PUT like POST; ours answer only what a browser sends.
FORM_METHODS = ["get", "post", "head", "options"]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(http_method_names=FORM_METHODS),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(http_method_names=FORM_METHODS),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("", include("teams.urls")),
    # The credit audit's own admin pages, ahead of the admin's catch-all.
    path("admin/credits/dashboard/", credit_audit.dashboard, name="credit_dashboard"),
    path(
        "admin/credits/reconciliation/",
        credit_audit.reconciliation,
        name="credit_reconciliation",
    ),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    # Only in sandbox mode (no RIVYA_API_KEY); otherwise every /sandbox/ URL is a 404.
    sandbox_urls.mount("sandbox/"),
    path("", include("generations.urls")),
]
