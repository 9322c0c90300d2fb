from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import get_script_prefix

from controlplane.stores import DEFAULT_STORE, picker_store_names, store_home, store_names
from controlplane.uploads import uploaded_bundle_info

# More stores than this and the picker is a <select> with a Go button; fewer stay links.
STORE_LINKS_AT_MOST = 4


def controlplane(request: HttpRequest) -> dict[str, Any]:
    store_name = getattr(request, "store_name", DEFAULT_STORE)
    user = getattr(request, "user", None)
    # What the banner says when the page reads an uploaded bundle (store `upload-<token>`).
    open_bundle = uploaded_bundle_info(store_name)
    # Under /s/<name>/ the script prefix carries the store; the picker's links start from the site's root.
    root = getattr(request, "root_script_prefix", None) or get_script_prefix()
    choices = [{"name": name, "href": store_home(root, name), "current": name == store_name,
                "label": f"uploaded: {open_bundle['name']}" if open_bundle and name == store_name else name}
               for name in picker_store_names(store_name)]
    return {
        "store_name": store_name,
        "store_names": store_names(),
        "login_required": settings.CONTROLPLANE_LOGIN_REQUIRED,
        # Signed out while login is required, every link of the top bar would only lead back to the login page.
        "show_nav": not settings.CONTROLPLANE_LOGIN_REQUIRED or bool(user and user.is_authenticated),
        "store_choices": choices,
        "store_picker_select": len(choices) > STORE_LINKS_AT_MOST,
        "open_bundle": open_bundle,
    }
