from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from controlplane.stores import store_names
from controlplane.uploads import uploaded_bundle_info


def controlplane(request: HttpRequest) -> dict[str, Any]:
    return {
        "store_name": getattr(request, "store_name", "default"),
        "store_names": store_names(),
        "login_required": settings.CONTROLPLANE_LOGIN_REQUIRED,
        # What the banner says when the page reads an uploaded bundle (store `upload-<token>`).
        "open_bundle": uploaded_bundle_info(getattr(request, "store_name", "default")),
    }
