"""Finding the handling agency a registry row names, creating it the first time it is seen."""

from core.text import squash

from ..models import AgencyLevel, HandlingAgency

# Prefecture-level cities of Ningxia (GB/T 2260): their agency serves the city's own districts.
CITY_CODES = {"6401": "银川市", "6402": "石嘴山市", "6403": "吴忠市", "6404": "固原市", "6405": "中卫市"}
REGIONAL_AGENCY_NAME = "宁夏回族自治区社会保险事业管理局"


def infer_level_and_division(name: str, row_division: str) -> tuple[str, str]:
    if "自治区" in name:
        return AgencyLevel.REGIONAL, "640000"
    for prefix, city in CITY_CODES.items():
        if name.startswith(city + "社会保险"):
            return AgencyLevel.CITY, prefix + "00"
    return AgencyLevel.COUNTY, row_division if len(row_division) == 6 else ""


def agency_get_or_create(*, name: str, phone: str = "", row_division: str = "") -> tuple[HandlingAgency, bool]:
    name = squash(name)
    agency = HandlingAgency.objects.filter(name=name).first()
    if agency:
        if phone and not agency.phone:
            agency.phone = phone
            agency.save(update_fields=["phone"])
        return agency, False
    level, division = infer_level_and_division(name, row_division)
    return HandlingAgency.objects.create(name=name, level=level, division_code=division, phone=phone), True


def agency_for_division(division_code: str) -> tuple[HandlingAgency, bool]:
    """The devices table names no agency: the city agency of the row's region handles it."""
    prefix = division_code[:4]
    agency = HandlingAgency.objects.filter(level=AgencyLevel.CITY, division_code=prefix + "00").first()
    if agency:
        return agency, False
    if prefix in CITY_CODES:
        return agency_get_or_create(name=CITY_CODES[prefix] + "社会保险事业管理中心")
    return agency_get_or_create(name=REGIONAL_AGENCY_NAME)
