from auditlog.registry import auditlog

from .models import (
    ApplicationMaterial,
    ChangeFiling,
    Designation,
    DesignationApplication,
    HandlingAgency,
    Institution,
    LegalEntity,
)

# The import's bookkeeping (the source row, the original cells) changes with every changed row;
# the trail records the fields a person reads, which the import also writes.
for model in (HandlingAgency, LegalEntity, Institution, Designation, ChangeFiling, DesignationApplication, ApplicationMaterial):
    auditlog.register(model, exclude_fields=["source", "original", "created_at", "updated_at"])
