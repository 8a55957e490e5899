"""Who am I: the caller's role and binding, so an API client knows what it will see."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import role_of

from .models import Role


class _BindingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MeOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    full_name = serializers.CharField()
    role = serializers.CharField(help_text=" | ".join(Role.values))
    role_label = serializers.CharField()
    agency = _BindingSerializer(allow_null=True)
    institution = _BindingSerializer(allow_null=True)


class MeApi(APIView):
    @extend_schema(responses=MeOutputSerializer)
    def get(self, request):
        user = request.user
        role = role_of(user)  # a superuser counts as administrator whatever its role column says
        data = {
            "username": user.username,
            "full_name": user.full_name,
            "role": role,
            "role_label": Role(role).label,
            "agency": user.agency,
            "institution": user.institution,
        }
        return Response(MeOutputSerializer(data).data)
