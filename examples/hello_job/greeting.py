def greet(what: str) -> str:
    return f"hello from the working_dir: {what}"
