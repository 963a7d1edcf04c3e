"""Challenges and the data they are graded on.

Hidden test features and labels live in the database as content-addressed blobs
(`DataBlob`), never under MEDIA_ROOT or STATIC_ROOT: no URL serves them, and grading
workers on other machines fetch them by hash and cache them locally.
"""

import hashlib

from django.db import models
from django.utils import timezone


class DataBlob(models.Model):
    sha256 = models.CharField(max_length=64, primary_key=True)
    data = models.BinaryField()  # an .npy file (np.save, allow_pickle=False)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"blob {self.sha256[:12]} ({self.size} bytes)"


class Task(models.TextChoices):
    REGRESSION = "regression", "Regression"
    BINARY = "binary", "Binary classification"
    MULTICLASS = "multiclass", "Multiclass classification"


class Metric(models.TextChoices):
    RMSE = "rmse", "RMSE"
    MAE = "mae", "MAE"
    R2 = "r2", "R²"
    ACCURACY = "accuracy", "Accuracy"
    F1_MACRO = "f1_macro", "Macro F1"
    LOG_LOSS = "log_loss", "Log loss"
    ROC_AUC = "roc_auc", "ROC AUC"
    # The optimizer track (lower is better for both).
    LOSS_AT_BUDGET = "loss_at_budget", "Test loss at budget"
    BUDGET_TO_TARGET = "budget_to_target", "Examples to target"


class Track(models.TextChoices):
    MODEL = "model", "Model (fit/predict)"
    OPTIMIZER = "optimizer", "Optimizer (step)"


class Challenge(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=120)
    summary = models.CharField(max_length=300, blank=True)
    description_md = models.TextField(blank=True)

    task = models.CharField(max_length=20, choices=Task.choices)
    # The optimizer track: teams write the Optimizer; the platform owns data, model, gradient.
    track = models.CharField(max_length=20, choices=Track.choices, default=Track.MODEL)
    workload = models.JSONField(default=dict, blank=True)  # grader.workloads.Workload fields
    metric = models.CharField(max_length=20, choices=Metric.choices)
    extra_metrics = models.JSONField(default=list, blank=True)  # shown beside the ranked one
    n_classes = models.PositiveIntegerField(null=True, blank=True)
    n_features = models.PositiveIntegerField(default=0)
    feature_names = models.JSONField(default=list, blank=True)
    target_name = models.CharField(max_length=100, default="target")

    # Data and split: computed once, deterministically from `seed`, recorded with its hash.
    source = models.JSONField(default=dict, blank=True)
    seed = models.IntegerField(default=42)
    test_fraction = models.FloatField(default=0.3)
    public_fraction = models.FloatField(default=0.5)
    train_X = models.ForeignKey(DataBlob, models.PROTECT, null=True, related_name="+")
    train_y = models.ForeignKey(DataBlob, models.PROTECT, null=True, related_name="+")
    test_X = models.ForeignKey(DataBlob, models.PROTECT, null=True, related_name="+")
    test_y = models.ForeignKey(DataBlob, models.PROTECT, null=True, related_name="+")
    public_mask = models.ForeignKey(DataBlob, models.PROTECT, null=True, related_name="+")
    split_hash = models.CharField(max_length=64, blank=True)
    n_train = models.PositiveIntegerField(default=0)
    n_test = models.PositiveIntegerField(default=0)

    # Limits and quotas.
    time_limit_s = models.FloatField(default=10.0)
    memory_mb = models.PositiveIntegerField(default=256)
    daily_quota = models.PositiveIntegerField(default=10)
    total_quota = models.PositiveIntegerField(null=True, blank=True)
    inflight_cap = models.PositiveIntegerField(default=2)
    max_final = models.PositiveIntegerField(default=2)
    allowed_imports = models.JSONField(default=list, blank=True)
    # The gradient-descent-only rule: numpy's closed-form solvers refused at upload and in the
    # sandbox, and a loss curve of at least `min_loss_curve_points` values required.
    gradient_descent_only = models.BooleanField(default=False)
    min_loss_curve_points = models.PositiveIntegerField(default=3)
    # The hidden labels are known outside the platform (a dataset that ships with
    # scikit-learn, or data generated from a seed in the bundle): a "classic" practice
    # challenge, labelled as such and not meant for ranking.
    public_labels = models.BooleanField(default=False)

    # Times (UTC). Freeze/unfreeze/reveal are organizer actions recorded as times.
    start_at = models.DateTimeField(null=True, blank=True)
    end_at = models.DateTimeField(null=True, blank=True)
    freeze_at = models.DateTimeField(null=True, blank=True)
    unfrozen_at = models.DateTimeField(null=True, blank=True)
    revealed_at = models.DateTimeField(null=True, blank=True)

    # Scores are published and ranked at this many significant digits (precision.py).
    display_precision = models.PositiveSmallIntegerField(default=5)
    # Set, in the transaction that changed them, when the rules that order the boards
    # (display precision, freeze time, metric) changed; the leaderboard's rebuild clears it.
    # Rebuilt right after the change commits, or by a periodic job if that failed.
    board_stale_since = models.DateTimeField(null=True, blank=True)
    # A score no honest solution reaches on this data (the noise floor, say): anything
    # better is flagged for the organizers' integrity review. None: no bound declared.
    best_plausible = models.FloatField(null=True, blank=True)

    is_published = models.BooleanField(default=False)
    starter_code = models.TextField(blank=True)
    baseline_code = models.TextField(blank=True)
    bundle_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start_at", "slug"]

    def __str__(self) -> str:
        return self.title

    @property
    def higher_is_better(self) -> bool:
        return self.metric in {Metric.R2, Metric.ACCURACY, Metric.F1_MACRO, Metric.ROC_AUC}

    @property
    def training_data_version(self) -> str:
        """Names the public training rows' version (from their blobs' hashes only, so it says
        nothing about the hidden rows): the CLI caches the data under it."""
        parts = (
            self.train_X_id or "",
            self.train_y_id or "",
            "\x1f".join(self.feature_names or []),
        )
        return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()[:16]

    @property
    def is_optimizer_track(self) -> bool:
        return self.track == Track.OPTIMIZER

    @property
    def is_open(self) -> bool:
        now = timezone.now()
        if not self.is_published:
            return False
        if self.start_at and now < self.start_at:
            return False
        return not (self.end_at and now >= self.end_at)

    @property
    def has_ended(self) -> bool:
        return bool(self.end_at and timezone.now() >= self.end_at)

    @property
    def is_frozen(self) -> bool:
        now = timezone.now()
        return bool(
            self.freeze_at
            and now >= self.freeze_at
            and not self.unfrozen_at
            and not self.revealed_at
        )
