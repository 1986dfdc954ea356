#!/usr/bin/python3
"""Writes fixtures/metrics.json: metric inputs and the values reference code gives.

- classification: accuracy, macro-F1 over the labels present in truth or
  prediction (scikit-learn's average="macro"), confusion [truth][pred];
- segmentation: the functions of MS-TCN's eval.py (get_labels_start_end_time,
  levenstein, edit_score, f_score), written out again below from their published
  definitions with numpy, and its main loop: frame accuracy over all frames, edit
  averaged over sequences, tp/fp/fn summed over sequences, F1 with nan_to_num;
  reported as fractions instead of percentages;
- captions: nltk.translate.bleu_score.corpus_bleu with weights (1,) and
  (0.25,)*4, no smoothing; exact match.

Run: /usr/bin/python3 tests/formats/gen_metric_fixtures.py   (needs python3-nltk)
"""
import json
import os
import random
import warnings

import numpy as np
from nltk.translate.bleu_score import corpus_bleu

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


# ---- classification ----

def classification(pred, truth, C):
    acc = sum(p == t for p, t in zip(pred, truth)) / len(pred)
    conf = [[0] * C for _ in range(C)]
    for p, t in zip(pred, truth):
        conf[t][p] += 1
    f1s = []
    for c in sorted(set(pred) | set(truth)):
        tp = sum(p == c and t == c for p, t in zip(pred, truth))
        fp = sum(p == c and t != c for p, t in zip(pred, truth))
        fn = sum(p != c and t == c for p, t in zip(pred, truth))
        f1s.append(2 * tp / (2 * tp + fp + fn))
    return {"C": C, "pred": pred, "truth": truth, "accuracy": acc,
            "macro_f1": sum(f1s) / len(f1s), "confusion": conf}


# ---- segmentation: MS-TCN eval.py ----

def get_labels_start_end_time(frame_wise_labels, bg_class=("background",)):
    labels, starts, ends = [], [], []
    last_label = frame_wise_labels[0]
    if frame_wise_labels[0] not in bg_class:
        labels.append(frame_wise_labels[0])
        starts.append(0)
    for i in range(len(frame_wise_labels)):
        if frame_wise_labels[i] != last_label:
            if frame_wise_labels[i] not in bg_class:
                labels.append(frame_wise_labels[i])
                starts.append(i)
            if last_label not in bg_class:
                ends.append(i)
            last_label = frame_wise_labels[i]
    if last_label not in bg_class:
        ends.append(i)
    return labels, starts, ends


def levenstein(p, y, norm=False):
    m_row, n_col = len(p), len(y)
    D = np.zeros([m_row + 1, n_col + 1], float)
    for i in range(m_row + 1):
        D[i, 0] = i
    for i in range(n_col + 1):
        D[0, i] = i
    for j in range(1, n_col + 1):
        for i in range(1, m_row + 1):
            if y[j - 1] == p[i - 1]:
                D[i, j] = D[i - 1, j - 1]
            else:
                D[i, j] = min(D[i - 1, j] + 1, D[i, j - 1] + 1, D[i - 1, j - 1] + 1)
    if norm:
        return (1 - D[-1, -1] / max(m_row, n_col)) * 100
    return D[-1, -1]


def edit_score(recognized, ground_truth, norm=True):
    P, _, _ = get_labels_start_end_time(recognized)
    Y, _, _ = get_labels_start_end_time(ground_truth)
    return levenstein(P, Y, norm)


def f_score(recognized, ground_truth, overlap):
    p_label, p_start, p_end = get_labels_start_end_time(recognized)
    y_label, y_start, y_end = get_labels_start_end_time(ground_truth)
    tp, fp = 0, 0
    hits = np.zeros(len(y_label))
    for j in range(len(p_label)):
        intersection = np.minimum(p_end[j], y_end) - np.maximum(p_start[j], y_start)
        union = np.maximum(p_end[j], y_end) - np.minimum(p_start[j], y_start)
        IoU = (1.0 * intersection / union) * ([p_label[j] == y_label[x] for x in range(len(y_label))])
        idx = np.array(IoU).argmax()
        if IoU[idx] >= overlap and not hits[idx]:
            tp += 1
            hits[idx] = 1
        else:
            fp += 1
    fn = len(y_label) - sum(hits)
    return float(tp), float(fp), float(fn)


def segmentation(preds, truths):
    overlap = [.1, .25, .5]
    tp, fp, fn = np.zeros(3), np.zeros(3), np.zeros(3)
    correct, total, edit = 0, 0, 0
    for recog, gt in zip(preds, truths):
        for i in range(len(gt)):
            total += 1
            if gt[i] == recog[i]:
                correct += 1
        edit += edit_score(recog, gt)
        for s in range(len(overlap)):
            tp1, fp1, fn1 = f_score(recog, gt, overlap[s])
            tp[s] += tp1
            fp[s] += fp1
            fn[s] += fn1
    out = {"pred": preds, "truth": truths, "frames": total,
           "frame_accuracy": correct / total, "edit": edit / len(preds) / 100}
    for s, name in enumerate(["f1@10", "f1@25", "f1@50"]):
        precision = tp[s] / float(tp[s] + fp[s])
        recall = tp[s] / float(tp[s] + fn[s])
        f1 = np.nan_to_num(2.0 * (precision * recall) / (precision + recall))
        out[name] = float(f1)
    return out


def random_labels(rng, n_seg, C):
    x = []
    for _ in range(n_seg):
        x += [rng.randrange(C)] * rng.randint(1, 30)
    return x


def noisy(rng, truth, C):
    """A prediction: boundaries jittered, some frames flipped, a few short bursts."""
    p = list(truth)
    for i in range(1, len(p)):
        if truth[i] != truth[i - 1] and rng.random() < 0.7:
            shift = rng.randint(-3, 3)
            for k in range(max(0, i + min(shift, 0)), min(len(p), i + max(shift, 0))):
                p[k] = truth[i - 1] if shift > 0 else truth[i]
    for _ in range(rng.randint(0, 4)):
        a = rng.randrange(len(p))
        lab = rng.randrange(C)
        for k in range(a, min(len(p), a + rng.randint(1, 4))):
            p[k] = lab
    return p


# ---- captions ----

def captions(hyps, refs):
    return {"hyps": hyps, "refs": refs,
            "bleu1": float(corpus_bleu(refs, hyps, weights=(1.0,))),
            "bleu4": float(corpus_bleu(refs, hyps, weights=(0.25, 0.25, 0.25, 0.25))),
            "exact_match": sum(h in r for h, r in zip(hyps, refs)) / len(hyps)}


WORDS = "a the man dog runs on grass red ball street two people walk near car".split()


def sentence(rng):
    return [rng.choice(WORDS) for _ in range(rng.randint(2, 10))]


def mutate(rng, s):
    s = list(s)
    for _ in range(rng.randint(0, 3)):
        op = rng.random()
        if op < 0.4 and s:
            s[rng.randrange(len(s))] = rng.choice(WORDS)
        elif op < 0.7 and len(s) > 1:
            del s[rng.randrange(len(s))]
        else:
            s.insert(rng.randrange(len(s) + 1), rng.choice(WORDS))
    return s


def main():
    rng = random.Random(20261127)
    warnings.simplefilter("ignore")   # eval.py's 0/0 IoU and NLTK's zero-count notes

    cls = []
    C = 6
    truth = [rng.randrange(C - 1) for _ in range(300)]   # class 5 never true
    pred = [t if rng.random() < 0.6 else rng.randrange(C) for t in truth]
    cls.append(classification(pred, truth, C))
    cls.append(classification([0, 1, 1, 2], [0, 1, 2, 2], 4))   # class 3 absent
    cls.append(classification([1, 1, 1], [0, 0, 0], 3))

    seg = []
    truths = [random_labels(rng, rng.randint(1, 12), 5) for _ in range(8)]
    seg.append(segmentation([noisy(rng, t, 5) for t in truths], truths))
    truths = [random_labels(rng, rng.randint(3, 20), 3) for _ in range(5)]
    seg.append(segmentation([noisy(rng, t, 3) for t in truths], truths))
    seg.append(segmentation([[0, 0, 1, 1, 2]], [[0, 0, 1, 1, 2]]))      # 0/0 IoU at the end
    seg.append(segmentation([[3] * 10, [0, 1, 0, 1]], [[3] * 10, [1, 1, 0, 0]]))
    seg.append(segmentation([[1]], [[1]]))

    cap = []
    refs = [[sentence(rng) for _ in range(rng.randint(1, 4))] for _ in range(25)]
    hyps = [mutate(rng, rng.choice(r)) for r in refs]
    cap.append(captions(hyps, refs))
    cap.append(captions([["a", "dog"], ["the", "man", "runs"]],
                        [[["a", "dog", "runs"]], [["the", "man", "walk"], ["man", "runs"]]]))
    cap.append(captions([["red", "ball"]], [[["two", "people"]]]))
    cap.append(captions([["a", "man", "walk", "near", "car"], ["two", "dog"]],
                        [[["a", "man", "walk", "near", "car"]], [["dog", "two"], ["two", "dogs"]]]))

    with open(os.path.join(HERE, "metrics.json"), "w") as f:
        json.dump({"classification": cls, "segmentation": seg, "captions": cap}, f)
        f.write("\n")
    for c in cap:
        print("bleu1 %.6f bleu4 %.6g exact %.3f" % (c["bleu1"], c["bleu4"], c["exact_match"]))
    for s in seg:
        print("acc %.4f edit %.4f f1 %.4f %.4f %.4f" % (s["frame_accuracy"], s["edit"],
                                                         s["f1@10"], s["f1@25"], s["f1@50"]))


if __name__ == "__main__":
    main()
