"""Audit trail API: the same scoped search as the audit page (audit.selectors.search)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from . import selectors


class LogEntryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    action = serializers.IntegerField(help_text="0 新增, 1 修改, 2 删除, 3 查看")
    action_label = serializers.SerializerMethodField()
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    actor_name = serializers.CharField(source="actor.full_name", allow_null=True, default=None)
    model = serializers.SerializerMethodField()
    object_pk = serializers.CharField()
    object_repr = serializers.CharField()
    changes = serializers.SerializerMethodField()

    def get_action_label(self, entry) -> str:
        return selectors.ACTION_LABELS.get(entry.action, str(entry.action))

    def get_model(self, entry) -> str:
        ct = entry.content_type
        return f"{ct.app_label}.{ct.model}" if ct else ""

    def get_changes(self, entry) -> list[dict[str, str]]:
        return [{"field": f, "before": b, "after": a} for f, b, a in selectors.describe_changes(entry)]


class AuditFilterSerializer(serializers.Serializer):
    model = serializers.CharField(required=False, allow_blank=True, help_text="app.model，例如 institutions.institution")
    object_pk = serializers.CharField(required=False, allow_blank=True)
    user = serializers.CharField(required=False, allow_blank=True, help_text="操作人用户名或姓名（包含）")
    date_from = serializers.DateField(required=False, allow_null=True)
    date_to = serializers.DateField(required=False, allow_null=True)
    q = serializers.CharField(required=False, allow_blank=True, help_text="对象名称或变更内容（包含）")

    def validate(self, data):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise serializers.ValidationError("起始日期不能晚于截止日期。")
        return data


class AuditListApi(APIView):
    # Declared so that drf-spectacular documents the paginated envelope of this plain APIView.
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(parameters=[AuditFilterSerializer], responses=LogEntryOutputSerializer(many=True))
    def get(self, request):
        filters = AuditFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        entries = selectors.search(viewer=request.user, **filters.validated_data)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(entries, request, view=self)
        return paginator.get_paginated_response(LogEntryOutputSerializer(page, many=True).data)
