"""Helpers shared by the management commands of SPEC §8."""

from datetime import date

from django.core.management.base import CommandError


def parse_month(value: str, option: str = "--month") -> date:
    try:
        year, month = value.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError
        return date(int(year), int(month), 1)
    except (ValueError, AttributeError):
        raise CommandError(f"{option} 的值“{value}”无效，应为 YYYY-MM，例如 2026-03。") from None


def open_input(path: str):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise CommandError(f"找不到文件：{path}") from None
    except IsADirectoryError:
        raise CommandError(f"{path} 是目录，不是文件。") from None
    except PermissionError:
        raise CommandError(f"没有读取文件的权限：{path}") from None


def write_output(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as fh:
            fh.write(data)
    except FileNotFoundError:
        raise CommandError(f"无法写入 {path}：目录不存在。") from None
    except IsADirectoryError:
        raise CommandError(f"无法写入 {path}：这是一个目录。") from None
    except PermissionError:
        raise CommandError(f"无法写入 {path}：没有写入权限。") from None
    except OSError as exc:
        raise CommandError(f"无法写入 {path}：{exc.strerror}") from None
