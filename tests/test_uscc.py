"""GB 32100-2015 unified social credit codes (SPEC §2): length, alphabet, check character."""

import csv
from pathlib import Path

import pytest

from core.uscc import ALPHABET, WEIGHTS, check_character, validate_uscc

DATA = Path(__file__).resolve().parent.parent / "institutions" / "data"

# Codes exactly as printed in the March 2026 tables, which pass the check.
VALID_FROM_DATA = [
    "12640100454040971K",  # medical 1, 银川市第一人民医院
    "1264010045404098XB",  # medical 2, an X inside the code
    "126401004540409473",  # medical 3, a digit as check character
    "A1100000MK0056736E",  # medical 7, an army hospital (A…)
    "12642200454970204A",  # medical 57, 固原市人民医院
    "12640000H37306859M",  # rehabilitation 1
    "91640100694347569Q",  # devices 1
    "91640100MAE1L7JQ0A",  # devices 5, a 0 check character
]


def _column(type_: str, seq_no: str) -> str:
    with open(DATA / f"registry_{type_}_2026-03.csv", encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["序号"] == seq_no:
                return row["统一社会信用代码"]
    raise LookupError(seq_no)


def test_weights_are_powers_of_three_modulo_31():
    assert WEIGHTS[:6] == [1, 3, 9, 27, 19, 26]
    assert len(WEIGHTS) == 17
    assert len(ALPHABET) == 31 and not set("IOZSV") & set(ALPHABET)


@pytest.mark.parametrize("code", VALID_FROM_DATA)
def test_check_character_of_valid_codes_from_the_tables(code):
    assert check_character(code[:17]) == code[17]
    assert validate_uscc(code).ok
    assert validate_uscc(code).reason == ""


def test_every_code_in_the_tables_passes_except_the_two_known_bad_ones():
    failing = []
    for type_ in ("medical", "rehabilitation", "devices"):
        with open(DATA / f"registry_{type_}_2026-03.csv", encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                if not validate_uscc(row["统一社会信用代码"].strip()).ok:
                    failing.append((type_, row["序号"]))
    assert failing == [("medical", "8"), ("rehabilitation", "6")]


def test_medical_8_code_with_a_slash_fails_on_format_naming_the_length():
    code = _column("medical", "8")
    assert code == "A1100000MK0054/7650"
    check = validate_uscc(code)
    assert not check.ok
    assert "格式错误" in check.reason
    assert "19位" in check.reason and "18位" in check.reason


def test_rehabilitation_6_fails_on_the_check_character_expecting_k():
    code = _column("rehabilitation", "6")
    assert code == "12640000454003273X"
    check = validate_uscc(code)
    assert not check.ok
    assert "校验位" in check.reason
    assert "应为 K" in check.reason
    assert check_character(code[:17]) == "K"


def test_corrected_check_character_would_pass_but_is_never_applied():
    assert validate_uscc("12640000454003273K").ok
    # validate_uscc only reports; it returns no corrected code.
    assert not hasattr(validate_uscc("12640000454003273X"), "corrected")


def test_seventeen_character_code_fails_naming_17_digits():
    check = validate_uscc("12640100454040971")
    assert not check.ok
    assert "17位" in check.reason


def test_empty_code_fails():
    check = validate_uscc("")
    assert not check.ok
    assert "为空" in check.reason


def test_lowercase_is_refused_not_uppercased():
    check = validate_uscc("12640100454040971k")
    assert not check.ok
    assert "非法字符" in check.reason and "'k'" in check.reason


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_letters_i_o_z_s_v_are_refused(letter):
    # Put the forbidden letter in the body; whatever the check character, the alphabet fails first.
    code = "9164010069434756" + letter + "Q"
    check = validate_uscc(code)
    assert not check.ok
    assert "非法字符" in check.reason
    assert repr(letter) in check.reason


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_letters_i_o_z_s_v_are_refused_as_check_character(letter):
    check = validate_uscc("91640100694347569" + letter)
    assert not check.ok
    assert "非法字符" in check.reason


def test_one_changed_character_breaks_the_check():
    good = "91640100694347569Q"
    for i in range(17):
        replacement = "1" if good[i] != "1" else "2"
        bad = good[:i] + replacement + good[i + 1 :]
        assert not validate_uscc(bad).ok, bad


def test_trailing_space_is_not_silently_accepted():
    # The import squashes white space before checking; the checker itself takes the code as given.
    assert not validate_uscc("12640000454500093H ").ok
    assert validate_uscc("12640000454500093H").ok
