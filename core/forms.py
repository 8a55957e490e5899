"""What pages share about forms."""


def form_errors_message(form) -> str:
    """A refused form as one message: each field's label and its errors, and that nothing changed."""
    parts = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = str(field.label) if field is not None and field.label else name
        parts.append(f"{label}：{'；'.join(str(e) for e in errors)}")
    return "提交的内容有误（" + "；".join(parts) + "），未作任何更改。"
