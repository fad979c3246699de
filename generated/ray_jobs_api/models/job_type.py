from enum import StrEnum


class JobType(StrEnum):
    DRIVER = "DRIVER"
    SUBMISSION = "SUBMISSION"

    def __str__(self) -> str:
        return str(self.value)
