from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from accounts import communities, logos, services
from accounts.models import Brand, Community, Invitation, Membership, User
from accounts.permissions import is_manager, is_photographer
from config.exceptions import ServiceError


class UserChangeForm(BaseUserChangeForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance.invited and (data.get("is_staff") or data.get("is_superuser")):
            raise forms.ValidationError(
                "This account was made through a community invitation: it can never be staff or a superuser."
            )
        return data


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    list_display = ("username", "email", "is_staff", "is_superuser", "last_login")
    # Accounts made through a community invitation are members, never staff: the admin's form shows the
    # database rule (user_invited_never_staff) as an error instead of failing on save.
    readonly_fields = ("invited",)
    fieldsets = (*BaseUserAdmin.fieldsets, ("Community", {"fields": ("invited",)}))


class BrandForm(forms.ModelForm):
    """The brand's fields, a logo upload and "remove the logo"; brand_update checks and writes them all."""

    logo = forms.FileField(
        required=False,
        help_text="PNG, WebP or JPEG, at most 2 MB (SVG is not accepted). Shown about 44 pixels high.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/webp,image/jpeg"}),
    )
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")
    website = forms.URLField(
        required=False,
        assume_scheme="https",
        max_length=200,
        help_text=Brand._meta.get_field("website").help_text,
    )

    class Meta:
        model = Brand
        fields = ("owner", "studio_name", "accent", "contact_email", "website")
        widgets = {"accent": forms.TextInput(attrs={"placeholder": "#7a4b1f", "size": 9, "spellcheck": "false"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.request_user = kwargs.pop("request_user", None)
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        """Run the service's checks here, so a bad accent or logo is an error beside its field."""
        data = super().clean()
        owner = data.get("owner") or (self.instance.owner_id and self.instance.owner) or self.request_user
        if owner is None:
            return data
        fields = {name: data.get(name, "") for name in services.BRAND_FIELDS}
        try:
            services.brand_check(owner=owner, logo=data.get("logo"), **fields)
        except ServiceError as exc:
            if exc.code == "fields":
                return data  # the model's own validation names the field (email, website) just after
            self.add_error("accent" if exc.code in ("contrast", "colour") else "logo", exc.message)
        return data


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    """ "Studio brand": each photographer edits their own; superusers see and change everyone's."""

    form = BrandForm
    list_display = ("__str__", "owner", "accent_swatch", "website", "updated_at")
    readonly_fields = ("logo_preview",)

    def get_fields(self, request: HttpRequest, obj: Brand | None = None) -> list[str]:
        fields = ["studio_name", "logo", "accent", "contact_email", "website"]
        if obj is not None and obj.logo_key:
            fields[1:2] = ["logo_preview", "logo", "remove_logo"]
        if is_manager(request.user):
            fields.insert(0, "owner")
        return fields

    def get_form(self, request: HttpRequest, obj: Brand | None = None, change: bool = False, **kwargs: Any):
        form = super().get_form(request, obj, change, **kwargs)
        user = request.user

        class RequestBrandForm(form):
            def __init__(self, *args: Any, **kw: Any) -> None:
                kw["request_user"] = user
                super().__init__(*args, **kw)
                if "owner" in self.fields:
                    self.fields["owner"].queryset = User.objects.filter(is_active=True, is_staff=True).order_by(
                        "username"
                    )

        return RequestBrandForm

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request).select_related("owner")
        return qs if is_manager(request.user) else qs.filter(owner=request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_photographer(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Brand | None = None) -> bool:
        if not is_photographer(request.user):
            return False
        return obj is None or is_manager(request.user) or obj.owner_id == request.user.pk

    has_change_permission = has_view_permission

    def has_add_permission(self, request: HttpRequest) -> bool:
        """One brand per photographer: once theirs exists, they change it."""
        if not is_photographer(request.user):
            return False
        return is_manager(request.user) or not Brand.objects.filter(owner=request.user).exists()

    def has_delete_permission(self, request: HttpRequest, obj: Brand | None = None) -> bool:
        return is_manager(request.user)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        """A photographer has one brand: the entry opens it (or the form to make it)."""
        if not is_manager(request.user) and is_photographer(request.user):
            from django.shortcuts import redirect

            mine = Brand.objects.filter(owner=request.user).first()
            if mine is None:
                return redirect("admin:accounts_brand_add")
            return redirect("admin:accounts_brand_change", mine.pk)
        return super().changelist_view(request, extra_context)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None):
        # One brand each: "Save and add another" would lead nowhere.
        extra = {**(extra_context or {}), "show_save_and_add_another": is_manager(request.user)}
        return super().add_view(request, form_url, extra)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None):
        """Another photographer's brand is not there at all (404), not "perhaps it was deleted"."""
        from django.http import Http404

        if not self.get_queryset(request).filter(pk=object_id if str(object_id).isdigit() else None).exists():
            raise Http404("No such brand.")
        extra = {**(extra_context or {}), "show_save_and_add_another": is_manager(request.user)}
        return super().change_view(request, object_id, form_url, extra)

    def save_model(self, request: HttpRequest, obj: Brand, form: Any, change: bool) -> None:
        """Through brand_update, as every door: the form's checks ran the same service checks."""
        data = form.cleaned_data
        owner = (
            data.get("owner")
            if is_manager(request.user) and data.get("owner")
            else (obj.owner if change else request.user)
        )
        fields = {name: data.get(name, "") for name in services.BRAND_FIELDS}
        saved = services.brand_update(
            owner=owner, logo=data.get("logo"), remove_logo=bool(data.get("remove_logo")), **fields
        )
        obj.pk = saved.pk
        obj.refresh_from_db()
        obj._state.adding = False

    @admin.display(description="Accent")
    def accent_swatch(self, obj: Brand) -> str:
        if not obj.accent:
            return "—"
        return format_html(
            '<span style="display:inline-block;width:1em;height:1em;border-radius:2px;vertical-align:-2px;'
            'background:{}" aria-hidden="true"></span> {}',
            obj.accent,
            obj.accent,
        )

    @admin.display(description="Current logo")
    def logo_preview(self, obj: Brand | None) -> str:
        if obj is None or not obj.logo_key:
            return "No logo yet: the studio name is shown instead."
        return format_html(
            '<img src="{}" alt="{}" style="max-height:48px;max-width:240px;background:#f5f4f0;padding:4px">',
            obj.logo_url,
            f"Logo of {obj.studio_name}" if obj.studio_name else "Current logo",
        )


# --- Communities (superusers) --------------------------------------------------------------------


class SuperusersOnlyAdmin(admin.ModelAdmin):
    """Communities are run on their member pages; the admin is the superusers' view of every one."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_manager(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_manager(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_manager(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_manager(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_manager(request.user)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "trusted", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)


class CommunityForm(forms.ModelForm):
    avatar = forms.FileField(
        required=False,
        help_text="PNG, WebP or JPEG, at most 2 MB; checked and redrawn like a studio logo.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/webp,image/jpeg"}),
    )

    class Meta:
        model = Community
        fields = ("name", "slug", "description", "visibility", "daily_file_quota", "daily_byte_quota")

    def clean_avatar(self) -> Any:
        avatar = self.cleaned_data.get("avatar")
        if avatar is not None:
            try:
                logos.prepare_logo(avatar)
            except ServiceError as exc:
                raise forms.ValidationError(exc.message) from None
            avatar.seek(0)
        return avatar


@admin.register(Community)
class CommunityAdmin(SuperusersOnlyAdmin):
    form = CommunityForm
    list_display = ("name", "slug", "visibility", "created_at")
    list_filter = ("visibility",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]

    def save_model(self, request: HttpRequest, obj: Community, form: forms.ModelForm, change: bool) -> None:
        """A new community gets its creator as first owner; the avatar goes through the service's check."""
        fields = {name: form.cleaned_data[name] for name in CommunityForm.Meta.fields}
        avatar = form.cleaned_data.get("avatar")
        if change:
            community = communities.community_update(community=obj, by=None, avatar=avatar, **fields)
        else:
            community = communities.community_create(owner=request.user, avatar=avatar, **fields)
        obj.pk, obj._state.adding = community.pk, False
        obj.refresh_from_db()


@admin.register(Invitation)
class InvitationAdmin(SuperusersOnlyAdmin):
    """Invitations are made on the member pages or the API (the link is shown once there); here they
    are seen and revoked."""

    list_display = ("community", "role", "label", "uses", "max_uses", "expires_at", "status")
    list_filter = ("role",)
    search_fields = ("community__name", "label")
    readonly_fields = ("community", "role", "label", "expires_at", "max_uses", "uses", "revoked_at", "created_by")
    fields = readonly_fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the chosen invitations")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        for invitation in queryset:
            communities.invitation_revoke(invitation=invitation, by=None)
        self.message_user(request, f"Revoked {queryset.count()} invitation(s).")


@admin.register(Membership)
class MembershipAdmin(SuperusersOnlyAdmin):
    list_display = ("user", "community", "role", "trusted", "created_at")
    list_filter = ("role", "trusted")
    search_fields = ("user__username", "community__name")
    autocomplete_fields = ("user",)
