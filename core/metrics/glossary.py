"""What every metric the app shows means: its formula (as the lecture writes it, where it gives one) and
what a high or a low value says. One place, Qt-free; the GUI turns entries into tooltips.

Notation: TP, FP, FN count a class's true positives, false positives, false negatives; P precision,
R recall; A the true mask of a class, B the predicted one; N samples (or pixels), C classes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """One metric: its name as shown, the formula, what high and low values mean, where the formula is from."""

    name: str
    formula: str
    meaning: str
    lecture: bool = False  # the formula is the lecture's; else the standard definition (scikit-learn's)


_TERMS = (
    Term("Accuracy", "Accuracy = correct predictions / all predictions",
         "High: most samples get their true class. On imbalanced data a model that always answers the "
         "largest class scores high too: read it with the per-class recall.", lecture=True),
    Term("Precision", "Precision = TP / (TP + FP)",
         "How many retrieved items are relevant? High: when the model says this class it is usually right. "
         "Low: many false alarms.", lecture=True),
    Term("Recall", "Recall = TP / (TP + FN)",
         "How many relevant items are retrieved? High: the model finds most samples of the class. "
         "Low: it misses many of them.", lecture=True),
    Term("F1", "F1 = 2 · P · R / (P + R)",
         "The harmonic mean of precision and recall (F_β with β = 1): high only when both are high; "
         "low when either is low.", lecture=True),
    Term("F-beta", "F_β = (1 + β²) · P · R / (β² · P + R)",
         "Precision and recall in one number, recall counted β times as much as precision (β > 1 favours "
         "recall, β < 1 precision). High only when both are high.", lecture=True),
    Term("Support", "Support = number of samples whose true class is this one",
         "Not a score: few samples make the class's other numbers noisy."),
    Term("AP", "AP = Σₙ (Rₙ − Rₙ₋₁) · Pₙ over the thresholds n (area under the precision–recall curve)",
         "1: every sample of the class is scored above every other sample. A random ranking scores the "
         "class's share of the samples, so a low AP on a rare class may still beat chance."),
    Term("mAP", "mAP = (1/C) Σ_c AP_c",
         "AP averaged over the classes (one vs rest), each class counting the same. High: every class is ranked well."),
    Term("AUC", "ROC AUC = ∫₀¹ TPR d(FPR) = probability that a random positive scores above a random negative",
         "1: positives always ranked first; 0.5: no better than chance; below 0.5: the ranking is inverted. "
         "Blind to class imbalance, unlike AP."),
    Term("ECE", "ECE = Σ_b (n_b / N) · |accuracy(b) − confidence(b)| over confidence bins b",
         "Expected calibration error. 0: confidence matches accuracy (of the answers given with 80% "
         "confidence, 80% are right). High: over- or under-confident; see the reliability diagram."),
    Term("Top-k accuracy", "top-k = share of samples whose true class is among the k highest scores",
         "High: the right class is almost always among the first k guesses even when the first is wrong."),
    Term("Subset accuracy", "Subset accuracy = share of samples whose predicted tag set equals the true set exactly",
         "Multilabel's strictest score: one wrong tag makes the sample wrong. High: whole tag sets right."),
    Term("Hamming loss", "Hamming loss = wrong (sample, label) decisions / (N · labels)",
         "Share of single tag decisions that are wrong. Lower is better; 0: every tag right."),
    Term("IoU", "J(A, B) = |A ∩ B| / |A ∪ B| = |A ∩ B| / (|A| + |B| − |A ∩ B|)",
         "Jaccard index of the true and predicted masks of a class. 1: they coincide; 0: no overlap. "
         "Stricter than Dice for the same masks.", lecture=True),
    Term("Dice", "DSC(A, B) = 2 |A ∩ B| / (|A| + |B|)",
         "Overlap of the true and predicted masks. 1: they coincide; 0: no overlap. Dice = 2 · IoU / (1 + IoU), "
         "so it is never below IoU.", lecture=True),
    Term("Mean IoU", "mIoU = (1/C) Σ_c IoU_c",
         "Every class counts the same, small ones as much as the background. High: every class is segmented well."),
    Term("Mean Dice", "mean Dice = (1/C) Σ_c DSC_c",
         "Every class counts the same. High: every class's masks overlap the truth well."),
    Term("Pixel accuracy", "Pixel accuracy = correct pixels / labelled pixels",
         "Dominated by large classes: 95% can mean a good background and no object found."),
    Term("Mean class accuracy", "mean class accuracy = (1/C) Σ_c TP_c / (TP_c + FN_c)",
         "The per-class pixel recall averaged over classes: a class missed entirely pulls it down, whatever its size."),
    Term("fw IoU", "fwIoU = Σ_c (n_c / N) · IoU_c, n_c the pixels of class c in the truth",
         "IoU weighted by how many pixels each class covers: close to pixel accuracy, dominated by large classes."),
    Term("Macro average", "macro = (1/C) Σ_c metric_c",
         "The plain mean over classes: a rare class counts as much as a common one. Low when small classes fail."),
    Term("Micro average", "micro: the metric of the summed counts, e.g. P = Σ_c TP_c / Σ_c (TP_c + FP_c)",
         "Every sample (decision) counts the same: dominated by the common classes. For single-label data "
         "micro P = R = F = accuracy."),
    Term("Weighted average", "weighted = Σ_c (support_c / N) · metric_c",
         "The mean over classes weighted by their support: between micro and macro."),
    Term("Samples average", "samples = (1/N) Σ_i metric of sample i's tag set",
         "Multilabel: each sample's precision / recall / F over its own tags, averaged over samples."),
    Term("Cross-entropy", "logloss = −(1/N) Σ_i Σ_j y_ij · log(p_ij); per sample −log p(true class)",
         "A per-sample loss: near 0 when the true class gets a high score; large for a confident wrong "
         "answer. The highest are the first suspects for a wrong label.", lecture=True),
    Term("Binary cross-entropy", "BCE = −[y · log p + (1 − y) · log(1 − p)]",
         "A per-sample loss: near 0 when the score agrees with the label; large for a confident mistake.",
         lecture=True),
    Term("Sigmoid cross-entropy", "mean over labels l of −[y_l · log σ(z_l) + (1 − y_l) · log(1 − σ(z_l))]",
         "Multilabel's per-sample loss: each label a binary cross-entropy. High: tags confidently wrong."),
    Term("Focal loss", "FL(p_t) = −α_t · (1 − p_t)^γ · log(p_t)",
         "Cross-entropy with easy samples (p_t near 1) turned down: high only for hard or mislabelled samples.",
         lecture=True),
    Term("MSE", "MSE = (1/m) Σ_i (y⁽ⁱ⁾ − ŷ⁽ⁱ⁾)² over the classes' one-hot truth and scores",
         "A per-sample loss: 0 for a perfect, confident answer; large squared errors weigh most.", lecture=True),
    Term("MAE", "MAE = (1/m) Σ_i |h(x⁽ⁱ⁾) − y⁽ⁱ⁾|",
         "A per-sample loss: the mean absolute gap between scores and the one-hot truth; less swayed by one "
         "large error than MSE.", lecture=True),
    Term("Confidence", "confidence = max_j p_j (the predicted class's score)",
         "How sure the model is. Low: an unsure answer worth a look; high and wrong: a confident mistake."),
    Term("Margin", "margin = p_(1) − p_(2), the best score minus the second best",
         "Low: the model hesitates between two classes (often a confusable pair or an ambiguous image)."),
    Term("Dice loss", "DL(y, p̂) = 1 − (2 · y · p̂ + 1) / (y + p̂ + 1)",
         "A segmentation loss on the probabilities: 0 when they match the masks; near 1 when they miss them.",
         lecture=True),
    Term("Weighted BCE", "wBCE = −(1/N) Σ_pixels w_c · [y · log p + (1 − y) · log(1 − p)], w_c larger for rare classes",
         "Binary cross-entropy per pixel with rare classes weighted up: high when small objects are missed."),
    Term("Boundary loss", "BL = (1/N) Σ_pixels φ_G(x) · p(x), φ_G the signed distance to the true boundary",
         "High when probability lies far from the true object's boundary (misplaced or spurious regions)."),
    Term("Precision–recall curve", "(R(t), P(t)) for every threshold t on the class's score",
         "Hugs the top right for a good ranking; its area is AP. Read where your threshold puts you."),
    Term("ROC curve", "(FPR(t), TPR(t)) for every threshold t; TPR = TP / (TP + FN), FPR = FP / (FP + TN)",
         "Hugs the top left for a good ranking; the diagonal is chance; its area is ROC AUC."),
    Term("Reliability diagram", "accuracy(b) against mean confidence(b) for each confidence bin b",
         "Bars on the diagonal: calibrated. Below it: over-confident. Above it: under-confident. ECE sums the gaps."),
)  # fmt: skip

GLOSSARY: dict[str, Term] = {term.name.casefold(): term for term in _TERMS}

#: Other spellings the app shows -> the entry's name.
ALIASES = {
    "prec.": "precision",
    "logloss": "cross-entropy",
    "macro": "macro average",  # "macro F1"; not "weighted" or "samples": other words use them
    "micro": "micro average",
    "roc auc": "auc",
    "macro auc": "auc",
    "average precision": "ap",
    "jaccard": "iou",
    "miou": "mean iou",
    "frequency-weighted iou": "fw iou",
    "mean accuracy": "mean class accuracy",
    "precision-recall": "precision–recall curve",
    "precision–recall": "precision–recall curve",
    "roc": "roc curve",
    "calibration error": "ece",
    "expected calibration error": "ece",
    "mean average precision": "map",
}

_F_BETA = re.compile(r"f(?:-?β|_β|-beta|\d+(?:\.\d+)?)", re.IGNORECASE)
_TOP_K = re.compile(r"top-?\d+(?: accuracy)?", re.IGNORECASE)


def lookup(name: str) -> Term | None:
    """The entry for a header or label as the app writes it ("F0.5", "Prec.", "top-5", "mean IoU"), else None."""
    key = " ".join(name.strip().split()).casefold()
    if key == "f1":
        return GLOSSARY["f1"]
    if _F_BETA.fullmatch(key):
        return GLOSSARY["f-beta"]
    if _TOP_K.fullmatch(key):
        return GLOSSARY["top-k accuracy"]
    key = ALIASES.get(key, key)
    return GLOSSARY.get(key)


def _spellings() -> list[str]:
    """Every name and alias, longest first (so "mean IoU" is found before "IoU")."""
    return sorted({*(t.name for t in _TERMS), *ALIASES}, key=len, reverse=True)


_NAME = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(s) for s in _spellings()) + r"|" + _F_BETA.pattern + r"|" + _TOP_K.pattern
    + r")(?![\w-])",
    re.IGNORECASE,
)  # fmt: skip


def terms_in(text: str) -> list[Term]:
    """The entries of the metric names written in ``text`` (a summary line), each once, in order of appearance."""
    found: list[Term] = []
    for match in _NAME.finditer(text):
        term = lookup(match.group(1))
        if term is not None and term not in found:
            found.append(term)
    return found
