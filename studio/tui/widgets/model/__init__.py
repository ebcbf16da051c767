"""Widgets of the Model screen: the field form, the problem list, the estimates, the schedule plot."""

from studio.tui.widgets.model.estimates import EstimatesView
from studio.tui.widgets.model.fields import FieldEdited, FieldRow
from studio.tui.widgets.model.problems import FixRequested, ProblemList
from studio.tui.widgets.model.schedule import SchedulePlot

__all__ = ["EstimatesView", "FieldEdited", "FieldRow", "FixRequested", "ProblemList", "SchedulePlot"]
