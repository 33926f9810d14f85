"""Domain errors of the engine: each names what went wrong and what to do about it."""

from __future__ import annotations


class GongjianError(Exception):
    """Base class of every error the engine raises on purpose."""


class DefinitionError(GongjianError):
    """A BPMN or DMN file cannot be deployed; names the file, line and element where known.

    `rule` names the check that refused the file and `params` what it found, so that the
    message can be told in another language (engine/bpm/finding_texts.py); `message` is the
    English text.
    """

    def __init__(self, message: str, *, filename: str | None = None, line: int | None = None,
                 element_id: str | None = None, rule: str = "",
                 params: dict | None = None):
        self.message = message
        self.filename = filename
        self.line = line
        self.element_id = element_id
        self.rule = rule
        self.params = dict(params or {})
        super().__init__(self.describe())

    def describe(self) -> str:
        """The message with its location, e.g. 'issue.bpmn, line 12, element Task_1: ...'."""
        where = [part for part in (
            self.filename,
            f"line {self.line}" if self.line else None,
            f"element {self.element_id}" if self.element_id else None,
        ) if part]
        return f"{', '.join(where)}: {self.message}" if where else self.message


class UnsafeExpressionError(DefinitionError):
    """An expression or script uses something outside the safe subset."""


class NotFoundError(GongjianError):
    """A deployment, instance or task does not exist (or is not visible to this user)."""


class ConflictError(GongjianError):
    """Someone else changed the instance first; reload and try again."""


class PermissionDeniedError(GongjianError):
    """The user may not do this to this task or instance."""


class InvalidStateError(GongjianError):
    """The action does not fit the task's or instance's current state."""


class TaskDataError(GongjianError):
    """Submitted task data does not fit the task's form."""

    def __init__(self, message: str, field_errors: dict[str, list[str]] | None = None):
        self.field_errors = field_errors or {}
        super().__init__(message)


class WorkflowExecutionError(GongjianError):
    """A script, condition or decision failed while the engine ran; the instance is unchanged.

    `element_id` and `element_name` name the BPMN element that failed, where known.
    """

    def __init__(self, message: str, *, element_id: str | None = None,
                 element_name: str | None = None):
        self.element_id = element_id
        self.element_name = element_name
        super().__init__(message)
