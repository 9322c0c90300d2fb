from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.decorators.http import require_http_methods

from controlplane.health import healthz, readyz
from controlplane.login import ThrottledLoginView, admin_login
from controlplane.metrics import metrics
from controlplane.views import switch_store

urlpatterns = [
    # LoginView would treat PUT like POST; only the form's own methods are accepted.
    path("accounts/login/", login_not_required(require_http_methods(["GET", "HEAD", "POST"])(
        ThrottledLoginView.as_view())), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Ahead of the admin's own: one sign-in form for the whole site, and it is throttled.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("stores/", switch_store, name="switch_store"),
    # For load balancers and Prometheus: no login (/metrics checks its own token), no run data.
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("", include("incidents.urls")),
    path("", include("releases.urls")),
    path("", include("approvals.urls")),
    path("", include("jobs.urls")),
    path("", include("audit.urls")),
    path("", include("memory.urls")),
    path("", include("runs.urls")),
]

handler400 = "controlplane.views.bad_request"
handler403 = "controlplane.views.permission_denied"
handler404 = "controlplane.views.page_not_found"
handler500 = "controlplane.views.server_error"
