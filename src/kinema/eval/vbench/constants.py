"""VBench-I2V's dimensions, normalisation ranges and weights (Huang et al., VBench++ 2025).

Values read from Vchitect/VBench ``scripts/constant.py`` (``TASK_INFO_I2V``, ``DIM_WEIGHT_I2V``,
``NORMALIZE_DIC_I2V``, ``I2V_LIST``, ``I2V_QUALITY_LIST``, ``I2V_WEIGHT``, ``I2V_QUALITY_WEIGHT``,
``I2VKEY``), as used by ``scripts/cal_i2v_final_score.py``. Keys here are the result-file keys
VBench writes (``subject_consistency``, ...); :data:`DISPLAY_NAMES` gives the leaderboard names.
"""

from __future__ import annotations

# result-file key -> leaderboard name (constant.py I2VKEY)
DISPLAY_NAMES: dict[str, str] = {
    "camera_motion": "Video-Text Camera Motion",
    "i2v_subject": "Video-Image Subject Consistency",
    "i2v_background": "Video-Image Background Consistency",
    "subject_consistency": "Subject Consistency",
    "background_consistency": "Background Consistency",
    "motion_smoothness": "Motion Smoothness",
    "dynamic_degree": "Dynamic Degree",
    "aesthetic_quality": "Aesthetic Quality",
    "imaging_quality": "Imaging Quality",
}
DIMENSIONS: tuple[str, ...] = tuple(DISPLAY_NAMES)

# (min, max) of each raw score; normalised = (raw - min) / (max - min), not clipped
NORMALIZE_RANGE: dict[str, tuple[float, float]] = {
    "camera_motion": (0.0, 1.0),
    "i2v_subject": (0.1462, 1.0),
    "i2v_background": (0.2615, 1.0),
    "subject_consistency": (0.1462, 1.0),
    "background_consistency": (0.2615, 1.0),
    "motion_smoothness": (0.7060, 0.9975),
    "dynamic_degree": (0.0, 1.0),
    "aesthetic_quality": (0.0, 1.0),
    "imaging_quality": (0.0, 1.0),
}

DIM_WEIGHT: dict[str, float] = {
    "camera_motion": 0.1,
    "i2v_subject": 1.0,
    "i2v_background": 1.0,
    "subject_consistency": 1.0,
    "background_consistency": 1.0,
    "motion_smoothness": 1.0,
    "dynamic_degree": 0.5,
    "aesthetic_quality": 1.0,
    "imaging_quality": 1.0,
}

I2V_DIMENSIONS: tuple[str, ...] = ("camera_motion", "i2v_subject", "i2v_background")  # I2V_LIST
QUALITY_DIMENSIONS: tuple[str, ...] = (  # I2V_QUALITY_LIST
    "subject_consistency", "background_consistency", "motion_smoothness", "dynamic_degree",
    "aesthetic_quality", "imaging_quality",
)
I2V_WEIGHT = 1.0  # weight of the I2V score in the total
QUALITY_WEIGHT = 1.0  # weight of the quality score in the total (I2V_QUALITY_WEIGHT)

# order-statistics weights of the video-image dimensions (i2v_subject.py, i2v_background.py)
I2V_MAX_WEIGHT, I2V_MEAN_WEIGHT, I2V_MIN_WEIGHT = 0.4, 0.3, 0.3

# camera-motion prompt phrases (camera_motion.py get_type) -> motion type
CAMERA_PROMPTS: dict[str, str] = {
    "camera pans left": "pan_left",
    "camera pans right": "pan_right",
    "camera tilts up": "tilt_up",
    "camera tilts down": "tilt_down",
    "camera zooms in": "zoom_in",
    "camera zooms out": "zoom_out",
    "camera static": "static",
}
CAMERA_TYPES: tuple[str, ...] = tuple(CAMERA_PROMPTS.values())
