"""The feature transformers pass scikit-learn's own estimator checks."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from estimators import HOGTransformer, ImageFlattener, PixelScaler

NOT_SQUARE = (
    "the check's rows have 2, 3, 5 or 10 features, not a square image; flat HOG input "
    "must be square images by design (test_hog.py: non-square rows are refused in words)"
)
HOG_NOT_SQUARE = [
    "check_fit_score_takes_y",
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_estimators_dtypes",
    "check_dtype_object",
    "check_pipeline_consistency",
    "check_estimators_nan_inf",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_preserve_dtypes",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1sample",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
]


def expected_failures(estimator):
    if isinstance(estimator, HOGTransformer):
        return dict.fromkeys(HOG_NOT_SQUARE, NOT_SQUARE)
    return {}


@parametrize_with_checks(
    [
        PixelScaler(max_value=10.0),
        ImageFlattener(),
        HOGTransformer(orientations=4, pixels_per_cell=2, cells_per_block=1),
    ],
    expected_failed_checks=expected_failures,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
