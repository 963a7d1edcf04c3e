"""The hyperparameters a model solution may declare in `hyperparameters_`, in one place: the
names the platform reads (and the other spellings it takes for them), what each means, and
the contract's paragraph about them in the starter kit's README.

A solution declares them as a dict set on the model by the end of `fit` (the grader reads it
after prediction). The grader keeps the dict only when it is well formed (grader/protocol.py:
at most HYPERPARAMETERS_MAX_KEYS names of 1-64 characters, each value a finite number, a bool
or a string of at most 64 characters); otherwise none of it is kept and the submission says
why. Any name is kept and shown as declared (the submission page, the exports); the debrief
plots the first three names below against the scores, labelled as declared by the
solutions, never as measured.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.harness import HYPERPARAMETERS_MAX_KEYS
from grader.protocol import HYPERPARAMETER_KEY_MAX, HYPERPARAMETER_TEXT_MAX


@dataclass(frozen=True)
class Hyperparameter:
    name: str
    meaning: str
    aliases: tuple[str, ...] = ()  # other spellings read as this name


LEARNING_RATE = Hyperparameter(
    "learning_rate",
    "the step size (the first one when a schedule changes it)",
    ("lr", "eta", "eta0", "step_size", "learningrate"),
)
BATCH_SIZE = Hyperparameter(
    "batch_size",
    "training rows per gradient step: 1 for one row at a time, the number of training rows "
    "for full-batch gradient descent",
    ("batch", "batchsize", "minibatch_size", "mini_batch_size"),
)
OPTIMIZER = Hyperparameter(
    "optimizer",
    'the update rule: "gd" (full batch), "sgd" (one row or a mini-batch per step), '
    '"momentum", "nesterov", "adagrad", "rmsprop", "adam", or a name of your own',
    ("optimiser", "method", "algorithm", "solver", "update_rule"),
)

# The names the platform reads, then the usual others (shown as declared, plotted nowhere).
HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    LEARNING_RATE,
    BATCH_SIZE,
    OPTIMIZER,
    Hyperparameter("epochs", "passes over the training rows"),
    Hyperparameter("max_epochs", "the most passes, when training stops early"),
    Hyperparameter(
        "tolerance", "stop early once the loss improves by less than this fraction per pass"
    ),
    Hyperparameter("lr_schedule", 'how the step size changes, as text: "eta0 / (1 + t / n)"'),
    Hyperparameter("l2", "L2 penalty (weight decay) on the weights; 0 for none"),
    Hyperparameter("l1", "L1 penalty on the weights; 0 for none"),
    Hyperparameter("momentum", "momentum coefficient (momentum, Nesterov)"),
    Hyperparameter("beta1", "Adam: decay rate of the gradients' running mean"),
    Hyperparameter("beta2", "Adam: decay rate of the squared gradients' running mean"),
    Hyperparameter("epsilon", "Adam, RMSprop, Adagrad: the constant added to the denominator"),
    Hyperparameter("hidden_layers", 'the hidden layers\' widths, as text: "64, 32"'),
)


def _spelling(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def declared_value(hyperparameters: dict | None, which: Hyperparameter) -> object:
    """What a solution declared for `which` (under its name or another spelling of it,
    compared lower-case with "-" and " " read as "_"), or None."""
    names = {which.name, *which.aliases}
    for name, value in (hyperparameters or {}).items():
        if _spelling(str(name)) in names:
            return value
    return None


def hyperparameters_markdown() -> str:
    """The contract's paragraph on `hyperparameters_` in the starter kit's README."""
    rows = "\n".join(f"- `{h.name}`: {h.meaning}" for h in HYPERPARAMETERS)
    return f"""### Hyperparameters (optional)
Declare what your training used in `self.hyperparameters_`, a dict set by the end of `fit`
(the starter does). The submission page and the organizers' exports show it, and after the
end the challenge's debrief plots the scores of every team against the declared
`learning_rate`, `batch_size` and `optimizer`, labelled as declared by the solutions (the
platform does not measure them): keep it true when you change the training. At most
{HYPERPARAMETERS_MAX_KEYS} names of at most {HYPERPARAMETER_KEY_MAX} characters; each value a
finite number, a bool or a string of at most {HYPERPARAMETER_TEXT_MAX} characters (a list,
None or a longer text leaves the whole dict out, and the submission says why). Any name is
kept; these are the usual ones:

{rows}
"""
