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

for model in (HandlingAgency, LegalEntity, Institution, Designation, ChangeFiling, DesignationApplication, ApplicationMaterial):
    auditlog.register(model)
