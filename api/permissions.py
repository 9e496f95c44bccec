"""What a token may do is what its user may do on the pages: the roles of DESIGN §7."""

from rest_framework import exceptions, permissions

READ_METHODS = ("GET", "HEAD", "OPTIONS")


class ModelPermissions(permissions.BasePermission):
    """Each view names the Django permissions each method needs in `perms`
    (`{"GET": ("billruns.view_billrun",), "POST": ("billruns.add_billrun",)}`; HEAD and
    OPTIONS need what GET needs). A method the view has no handler for is left to DRF's 405;
    a handler with no permissions named is refused."""

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            raise exceptions.NotAuthenticated()
        method = "GET" if request.method in READ_METHODS else request.method
        needed = getattr(view, "perms", {}).get(method)
        if needed is None:
            if request.method == "OPTIONS" or not hasattr(view, request.method.lower()):
                return True  # OPTIONS describes; no handler: dispatch answers 405
            # A handler nobody named a permission for is closed, not open.
            raise exceptions.PermissionDenied(f"{request.method} needs a permission.")
        missing = [perm for perm in needed if not user.has_perm(perm)]
        if missing:
            raise exceptions.PermissionDenied(
                f"User {user.get_username()} lacks the permission {missing[0]}."
            )
        return True
