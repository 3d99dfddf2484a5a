"""A synthetic joint embedding space with planted notions, for the lens tests (not collected by pytest).

d dimensions; each notion owns an orthogonal ``sub``-dimensional subspace holding one vector per value.
Image embedding = shared image offset + Σ over notions of the photo's value vector + isotropic noise.
Prompt embedding for notion j, word w, template t = shared text offset + a template vector (outside every
notion subspace) + notion j's value vector for w + small noise: the words vary only j's subspace, as the
InDiReCT premise says of real CLIP prompts. Image and text offsets differ, mimicking CLIP's modality gap.
With ``template_leak`` the template vectors also vary along the next notion's subspace, as real phrasings
carry content of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PlantedSpace:
    images: np.ndarray  # (n, d) unit rows
    labels: np.ndarray  # (n, notions) value index per notion
    prompts: list[np.ndarray]  # per notion: (values × templates, d) unit rows, word-major
    owners: list[list[tuple[int, ...]]]  # per notion: value index of each prompt row
    value_vectors: list[np.ndarray]  # per notion: (values, d)


def _unit(m: np.ndarray) -> np.ndarray:
    return (m / np.linalg.norm(m, axis=-1, keepdims=True)).astype(np.float32)


def planted_space(
    d: int = 64,
    notions: int = 3,
    sub: int = 4,
    values: int = 5,
    n_images: int = 500,
    templates: int = 3,
    image_noise: float = 0.35,
    text_noise: float = 0.02,
    template_leak: float = 0.0,
    seed: int = 0,
) -> PlantedSpace:
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
    basis = basis.T  # rows: orthonormal directions
    free = basis[notions * sub :]  # directions outside every notion subspace
    image_offset, text_offset = free[0], free[1]
    template_space = free[2:]
    value_vectors = []
    for j in range(notions):
        coords = _unit(rng.standard_normal((values, sub)))
        value_vectors.append(coords @ basis[j * sub : (j + 1) * sub])
    labels = rng.integers(0, values, size=(n_images, notions))
    raw = 0.6 * image_offset + sum(value_vectors[j][labels[:, j]] for j in range(notions))
    raw = raw + image_noise * rng.standard_normal((n_images, d))
    prompts, owners = [], []
    for j in range(notions):
        template_vectors = 0.4 * _unit(
            rng.standard_normal((templates, template_space.shape[0])) @ template_space
        )
        if template_leak:  # templates that also vary along the next notion, as real phrasings carry content
            other = (j + 1) % notions
            template_vectors += template_leak * _unit(
                rng.standard_normal((templates, sub)) @ basis[other * sub : (other + 1) * sub]
            )
        rows = [
            1.2 * text_offset
            + template_vectors[t]
            + 0.5 * value_vectors[j][w]
            + text_noise * rng.standard_normal(d)
            for w in range(values)
            for t in range(templates)
        ]
        prompts.append(_unit(np.array(rows)))
        owners.append([(w,) for w in range(values) for _ in range(templates)])
    return PlantedSpace(_unit(raw), labels, prompts, owners, value_vectors)
