from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import User


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    list_display = ("username", "full_name", "role", "agency", "institution", "is_active", "last_login")
    list_filter = ("role", "is_active", "agency")
    search_fields = ("username", "full_name", "institution__name")
    autocomplete_fields = ("agency", "institution")
    fieldsets = UserAdmin.fieldsets + (("角色与绑定", {"fields": ("full_name", "role", "agency", "institution", "phone")}),)
    add_fieldsets = UserAdmin.add_fieldsets + (("角色与绑定", {"fields": ("full_name", "role", "agency", "institution")}),)

    def has_delete_permission(self, request, obj=None):
        return False  # the audit trail references users: deactivate instead
