from django.urls import path

from sharing import community_views as views

app_name = "communities"

urlpatterns = [
    path("c/", views.community_list, name="mine"),
    path("c/avatar/<str:name>", views.community_avatar, name="avatar"),
    path("c/<slug:slug>/", views.community_detail, name="detail"),
    path("c/<slug:slug>/members/", views.member_list, name="members"),
    path("c/<slug:slug>/members/<str:member_id>/", views.member_change, name="member-change"),
    path("c/<slug:slug>/invitations/", views.invitation_list, name="invitations"),
    path("c/<slug:slug>/invitations/<str:invitation_id>/revoke", views.invitation_revoke, name="invitation-revoke"),
    path("c/<slug:slug>/queue/", views.queue, name="queue"),
    path("c/<slug:slug>/settings/", views.community_settings, name="settings"),
    path("c/<slug:slug>/galleries/add", views.community_gallery_add, name="gallery-add"),
    path("join/<str:token>/", views.join, name="join"),
]
