"""The style every window and dialog shares: controls, lists, tabs, focus marks, messages.

A template for `Theme.render` (`$name`: the palette's colours and the relative font
sizes). The shell applies it to the whole application with each feature's own rules,
so dialogs look like the main window and nothing leaks from one window into another.
Every control that can take the keyboard focus shows a 2 px ring in `$focus` (3:1 against
the backgrounds it sits on; the palette test checks it); borders are reserved in the
normal state so the ring does not move anything. A state that comes and goes (`:default`
follows the focus in a dialog) never changes the font, which would outgrow the button.
"""

from __future__ import annotations

BASE_STYLE = """
QWidget { color: $text; font-size: $fs; }
QDialog, QMainWindow { background: $window; }
QDialogButtonBox { dialogbuttonbox-buttons-have-icons: 0; }  /* icons crowd the text */
QToolTip { background: $surface; color: $text; border: 1px solid $control_border; padding: 4px; }
QLabel { background: transparent; }
QLabel:disabled, QCheckBox:disabled, QRadioButton:disabled { color: $disabled; }
QLabel#mutedText, QLabel#hint, QLabel#fieldCaption, QLabel#defaultHint, QLabel#rowSubtitle,
QLabel#entryDescription { color: $muted; font-size: $fs_small; }
QLabel#errorText, QLabel#problemText, QLabel#rowProblem, QLabel[error="true"] {
    color: $error_text; }
QLabel#rowProblem { font-size: $fs_small; }
QLabel#dialogHeading { font-size: $fs_title; font-weight: 600; }

QPushButton { background: $surface; color: $text; border: 1px solid $control_border;
              border-radius: 8px; padding: 5px 12px; }
QPushButton:hover { background: $hover; }
QPushButton:pressed { background: $selection; }
QPushButton:disabled { color: $disabled; border-color: $border; }
QPushButton:focus { border: 2px solid $focus; padding: 4px 11px; }
QPushButton#primaryButton, QPushButton#sendButton, QPushButton:default {
    background: $accent; color: $on_accent; border: 1px solid $accent; }
QPushButton#primaryButton, QPushButton#sendButton { font-weight: 600; }
QPushButton#primaryButton:hover, QPushButton#sendButton:hover, QPushButton:default:hover {
    background: $accent_hover; }
QPushButton#primaryButton:focus, QPushButton#sendButton:focus, QPushButton:default:focus {
    border: 2px solid $text; }
QPushButton#primaryButton:disabled, QPushButton#sendButton:disabled, QPushButton:default:disabled {
    background: $hover; color: $disabled; border-color: $border; }
QPushButton#dangerButton { color: $error_text; }
QPushButton#dangerButton:disabled { color: $disabled; }

QToolButton { background: transparent; border: 2px solid transparent; border-radius: 6px;
              padding: 2px 6px; color: $muted; }
QToolButton:hover { background: $hover; color: $text; }
QToolButton:focus { border-color: $focus; color: $text; }
QToolButton:disabled { color: $disabled; }
QToolButton::menu-indicator { image: none; width: 0; }

QLineEdit, QPlainTextEdit, QTextEdit, QSpinBox, QDoubleSpinBox {
    background: $surface; color: $text; border: 1px solid $control_border; border-radius: 6px;
    padding: 4px 6px; selection-background-color: $accent; selection-color: $on_accent; }
QLineEdit:focus, QPlainTextEdit:focus, QTextEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus {
    border: 2px solid $focus; padding: 3px 5px; }
QLineEdit:disabled, QPlainTextEdit:disabled, QSpinBox:disabled, QDoubleSpinBox:disabled {
    color: $disabled; border-color: $border; }
QSpinBox, QDoubleSpinBox { padding-right: 24px; }
QSpinBox:focus, QDoubleSpinBox:focus { padding-right: 23px; }
QSpinBox::up-button, QDoubleSpinBox::up-button, QSpinBox::down-button,
QDoubleSpinBox::down-button { subcontrol-origin: border; width: 20px; border: none;
                              border-left: 1px solid $border; }
QSpinBox::up-button, QDoubleSpinBox::up-button { subcontrol-position: top right;
                                                 border-top-right-radius: 6px; }
QSpinBox::down-button, QDoubleSpinBox::down-button { subcontrol-position: bottom right;
                                                     border-bottom-right-radius: 6px; }
QSpinBox::up-button:hover, QDoubleSpinBox::up-button:hover, QSpinBox::down-button:hover,
QDoubleSpinBox::down-button:hover { background: $hover; }
QSpinBox::up-arrow, QDoubleSpinBox::up-arrow { image: url($arrow_up); width: 0.6em;
                                               height: 0.36em; }
QSpinBox::down-arrow, QDoubleSpinBox::down-arrow { image: url($arrow); width: 0.6em;
                                                   height: 0.36em; }
QSpinBox::up-arrow:disabled, QDoubleSpinBox::up-arrow:disabled, QSpinBox::down-arrow:disabled,
QDoubleSpinBox::down-arrow:disabled { image: none; }
QLineEdit[readOnly="true"], QPlainTextEdit[readOnly="true"] { background: $sidebar; }

QComboBox { background: $surface; color: $text; border: 1px solid $control_border;
            border-radius: 8px; padding: 4px 24px 4px 10px; }
QComboBox:hover { background: $hover; }
QComboBox:focus { border: 2px solid $focus; padding: 3px 23px 3px 9px; }
QComboBox::drop-down { border: none; width: 22px; subcontrol-origin: padding;
                       subcontrol-position: center right; }
QComboBox::down-arrow { image: url($arrow); width: 0.7em; height: 0.42em; }
QComboBox QAbstractItemView { background: $surface; color: $text; border: 1px solid $border;
                              selection-background-color: $selection; selection-color: $text; }

QCheckBox, QRadioButton { spacing: 8px; padding: 2px; border: 2px solid transparent;
                          border-radius: 6px; }
QCheckBox:focus, QRadioButton:focus { border-color: $focus; }
QCheckBox::indicator { width: 0.85em; height: 0.85em; border: 1px solid $control_border;
                       border-radius: 3px; background: $surface; }
QCheckBox::indicator:checked { background: $accent; border-color: $accent; image: url($check); }
QCheckBox::indicator:disabled { border-color: $border; background: $hover; }
QCheckBox::indicator:checked:disabled { background: $disabled; border-color: $disabled; }

QListView, QListWidget, QTreeView, QTableView {
    background: $sidebar; color: $text; border: 2px solid transparent; border-radius: 10px;
    outline: none; padding: 2px; }
QListView:focus, QListWidget:focus, QTreeView:focus, QTableView:focus { border-color: $focus; }
QListView::item, QListWidget::item { padding: 6px 8px; border-radius: 8px; }
QListView::item:hover, QListWidget::item:hover { background: $hover; }
QListView::item:selected, QListWidget::item:selected { background: $selection; color: $text; }

QTabWidget::pane { border: 1px solid $border; border-radius: 8px; top: -1px; background: $window; }
QTabBar::tab { padding: 6px 14px; border: 2px solid transparent; color: $muted;
               background: transparent; }
QTabBar::tab:selected { color: $text; border-bottom: 2px solid $link; font-weight: 600; }
QTabBar::tab:focus { border: 2px solid $focus; border-radius: 6px; }
QTabBar::tab:disabled { color: $disabled; }

QScrollArea, QScrollArea > QWidget > QWidget { background: transparent; }
QScrollBar:vertical { background: transparent; width: 10px; margin: 2px; }
QScrollBar::handle:vertical { background: $control_border; border-radius: 3px; min-height: 32px; }
QScrollBar::handle:vertical:hover { background: $muted; }
QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical { height: 0; }
QScrollBar::add-page:vertical, QScrollBar::sub-page:vertical { background: transparent; }
QScrollBar:horizontal { background: transparent; height: 10px; margin: 2px; }
QScrollBar::handle:horizontal { background: $control_border; border-radius: 3px; min-width: 32px; }
QScrollBar::add-line:horizontal, QScrollBar::sub-line:horizontal { width: 0; }
QProgressBar { border: none; background: $border; border-radius: 3px; max-height: 6px; }
QProgressBar::chunk { background: $accent; border-radius: 3px; }

QMenu { background: $surface; color: $text; border: 1px solid $border; padding: 4px; }
QMenu::item { padding: 6px 22px 6px 14px; border-radius: 6px; }
QMenu::item:selected { background: $selection; }
QMenu::item:disabled { color: $disabled; }
QMenu::separator { height: 1px; background: $border; margin: 4px 8px; }
QMenu::indicator { width: 14px; height: 14px; }

QLabel#pageMessage { background: $success_back; border-radius: 8px; padding: 6px 10px;
                     color: $success_text; }
QLabel#pageMessage[error="true"] { background: $error_back; color: $error_text; }
#warningNote, #problemsNote, #readOnlyNote { background: $warning_back; color: $warning_text;
    border: 1px solid $warning_border; border-radius: 8px; padding: 6px 10px; }
#secretBox { background: $code; border: 1px solid $border; border-radius: 8px; padding: 10px; }
"""
