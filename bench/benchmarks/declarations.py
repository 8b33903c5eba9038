"""Declarations of the named benchmarks. Adding one touches only this file."""

from __future__ import annotations

from bench.benchmarks.pipelines import cnn_pipeline, hog_mlp_pipeline, mlp_pipeline
from bench.benchmarks.registry import Benchmark, register

# The published seed networks: MLP 300-30 and a small three-block CNN, both with
# dropout 0.4 before the softmax.
SEED_MLP = {"hidden_layer_sizes": (300, 30), "dropout": 0.4, "optimizer": "rmsprop"}
SEED_CNN = {
    "filters": (9, 9, 16),
    "kernel_sizes": (5, 5, 3),
    "pool": 2,
    "dense_layers": (300, 30),
    "dropout": 0.4,
    "optimizer": "adam",
}

# Time to accuracy on a CPU: strided convolutions instead of max-pooling (the pool's
# gradient costs more than the convolution itself in TensorFlow on the CPU), batch
# norm and a one-cycle learning rate so that four epochs suffice (0.991 mean test
# accuracy over seeds 0-2 in about 25 s of training on 2 CPU cores).
FAST_CNN = {
    "filters": (16, 32),
    "kernel_sizes": 5,
    "strides": 2,
    "pool": 1,
    "dense_layers": (128,),
    "dropout": 0.25,
    "batch_norm": True,
    "optimizer": "adam",
    "optimizer__learning_rate": 0.003,
    "lr_schedule": "one_cycle",
}


register(
    Benchmark(
        name="mnist-mlp",
        dataset="mnist",
        summary="MLP 300-30, dropout 0.4, RMSprop on raw pixels",
        pipeline=mlp_pipeline,
        params=SEED_MLP,
    )
)
register(
    Benchmark(
        name="mnist-hog-mlp",
        dataset="mnist",
        summary="HOG (8 orientations, 4x4 cells, 1x1 blocks: 392 features), MLP 300-30, "
        "dropout 0.4, RMSprop",
        pipeline=hog_mlp_pipeline,
        params=SEED_MLP,
    )
)
register(
    Benchmark(
        name="mnist-cnn",
        dataset="mnist",
        summary="CNN 9@5x5, 9@5x5, 16@3x3 with max-pooling, dense 300-30, dropout 0.4, Adam",
        pipeline=cnn_pipeline,
        params=SEED_CNN,
    )
)
register(
    Benchmark(
        name="mnist-mlp-512",
        dataset="mnist",
        summary="MLP 512-512-512, dropout 0.2, RMSprop on raw pixels",
        pipeline=mlp_pipeline,
        params={"hidden_layer_sizes": (512, 512, 512), "dropout": 0.2, "optimizer": "rmsprop"},
    )
)
register(
    Benchmark(
        name="fashion-cnn",
        dataset="fashion-mnist",
        summary="the mnist-cnn network on Fashion-MNIST",
        pipeline=cnn_pipeline,
        params=SEED_CNN,
    )
)
register(
    Benchmark(
        name="digits-mlp",
        dataset="digits",
        summary="MLP 128, dropout 0.1, Adam on scikit-learn's 8x8 digits; offline, seconds",
        pipeline=mlp_pipeline,
        params={"hidden_layer_sizes": (128,), "dropout": 0.1, "optimizer": "adam"},
        epochs=20,
        batch_size=32,
    )
)
register(
    Benchmark(
        name="digits-cnn",
        dataset="digits",
        summary="CNN 16@3x3, 32@3x3 with max-pooling, dense 64, dropout 0.2, Adam on 8x8 "
        "digits; offline, seconds",
        pipeline=cnn_pipeline,
        params={
            "filters": (16, 32),
            "kernel_sizes": 3,
            "pool": 2,
            "dense_layers": (64,),
            "dropout": 0.2,
            "optimizer": "adam",
        },
        epochs=15,
        batch_size=32,
    )
)
register(
    Benchmark(
        name="mnist-fast",
        dataset="mnist",
        summary="CNN 16@5x5/2, 32@5x5/2, batch norm, dense 128, one-cycle Adam; 4 epochs, "
        "batch 256",
        pipeline=cnn_pipeline,
        params=FAST_CNN,
        epochs=4,
        batch_size=256,
    )
)
