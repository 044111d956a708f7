from django.urls import path

from sharing.api import communities as views

urlpatterns = [
    path("communities", views.CommunityListCreateApi.as_view(), name="community-list"),
    path("communities/<uuid:community_id>", views.CommunityDetailApi.as_view(), name="community-detail"),
    path("communities/<uuid:community_id>/members", views.MemberListApi.as_view(), name="community-members"),
    path(
        "communities/<uuid:community_id>/members/<int:member_id>",
        views.MemberDetailApi.as_view(),
        name="community-member",
    ),
    path(
        "communities/<uuid:community_id>/invitations",
        views.InvitationListCreateApi.as_view(),
        name="community-invitations",
    ),
    path(
        "communities/<uuid:community_id>/invitations/<uuid:invitation_id>",
        views.InvitationDetailApi.as_view(),
        name="community-invitation",
    ),
    path("communities/<uuid:community_id>/queue", views.QueueApi.as_view(), name="community-queue"),
    path(
        "communities/<uuid:community_id>/galleries", views.CommunityGalleriesApi.as_view(), name="community-galleries"
    ),
    path("invitations/<str:token>/accept", views.InvitationAcceptApi.as_view(), name="invitation-accept"),
]
