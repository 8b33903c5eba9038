"""Declarations of the downloadable datasets: their files, mirrors, checksums, classes.

Each dataset is one entry: a :class:`IdxDataset` for the IDX datasets (MNIST,
Fashion-MNIST), an :class:`SvhnEntry` or a :class:`CifarEntry`. Every entry says which
files make up the dataset in a folder (``layouts``) and which files to download
(``downloads``). Tests and users with their own mirror build an entry of their own (or
``dataclasses.replace`` one of these) and pass it to
:func:`bench.data.loaders.load_catalog_entry`.

This module is read by ``bench list`` and must stay light: no NumPy, no file access.
"""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PublishedFile:
    """A file as its publisher distributes it, and the checksum published for it.

    Parameters
    ----------
    name : str
        File name on the mirrors and in the download cache.
    checksum : str
        Published digest (hex) of the file.
    algorithm : str
        :mod:`hashlib` name of the digest: ``"sha256"``, or ``"md5"`` where that is
        all the publisher gives.
    size : int or None
        Published size in bytes, shown when a copy differs; None if not published.
    """

    name: str
    checksum: str
    algorithm: str = "sha256"
    size: int | None = None


@dataclass(frozen=True)
class Layout:
    """One way a folder can hold a dataset: the files it needs, relative to the folder.

    Parameters
    ----------
    files : tuple of str
        Names of the files, all required.
    folder : str
        Sub-folder holding them, e.g. ``"cifar-10-batches-bin"``; ``""`` for the folder
        itself.
    suffixes : tuple of str
        Each file may be stored as ``name + suffix``; tried in this order.
    description : str
        How messages name this layout; by default the file names.
    """

    files: tuple[str, ...]
    folder: str = ""
    suffixes: tuple[str, ...] = ("",)
    description: str = ""

    def describe(self) -> str:
        """The layout in a message, e.g. ``"train_32x32.mat, test_32x32.mat"``."""
        if self.description:
            return self.description
        prefix = f"{self.folder}/" if self.folder else ""
        optional = "".join(f"[{suffix}]" for suffix in self.suffixes if suffix)
        return ", ".join(f"{prefix}{name}{optional}" for name in self.files)


class DatasetEntry(Protocol):
    """What the loaders need of an entry, whatever its file format (read-only, as the
    entries are frozen dataclasses)."""

    @property
    def name(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def class_names(self) -> tuple[str, ...]: ...
    @property
    def mirrors(self) -> tuple[str, ...]: ...
    @property
    def image_shape(self) -> tuple[int, ...]: ...
    @property
    def pixel_max(self) -> float: ...
    @property
    def apt_package(self) -> str | None: ...
    @property
    def flip_safe(self) -> bool: ...

    @property
    def layouts(self) -> tuple[Layout, ...]:
        """Ways a folder holds the dataset, preferred first. The first is what
        ``downloads`` create, and has no sub-folder."""

    @property
    def downloads(self) -> tuple[PublishedFile, ...]:
        """The files to download, one per file of ``layouts[0]``, in its order."""


@dataclass(frozen=True)
class IdxFile:
    """One IDX file of a dataset and the two checksums it may be trusted by.

    Parameters
    ----------
    name : str
        File name without ``.gz``, e.g. ``"train-images-idx3-ubyte"``. On disk the file
        may be gzipped (``name + ".gz"``) or plain (``name``).
    archive_sha256 : str
        SHA-256 of the gzipped file as published on the mirrors.
    content_sha256 : str
        SHA-256 of the decompressed IDX content. Re-compressed copies (Debian's, a
        shared folder) differ in their archive bytes but not in their content.
    """

    name: str
    archive_sha256: str
    content_sha256: str

    @property
    def archive_name(self) -> str:
        """Name of the gzipped file on the mirrors and in the download cache."""
        return self.name + ".gz"


@dataclass(frozen=True)
class IdxDataset:
    """An image classification dataset stored as four IDX files.

    Parameters
    ----------
    name : str
        Name used on the command line and as folder name, e.g. ``"fashion-mnist"``.
    title : str
        Name shown in messages, e.g. ``"Fashion-MNIST"``.
    class_names : tuple of str
        Class names indexed by label.
    train_images, train_labels, test_images, test_labels : IdxFile
        The four files.
    mirrors : tuple of str
        Base URLs tried in order; a file's URL is ``mirror + file.archive_name``.
    image_shape : tuple of int
        Required (height, width) of every image.
    pixel_max : float
        Largest possible pixel value.
    apt_package : str or None
        Debian package installing the files under ``/usr/share/datasets/<name>/``.
    flip_safe : bool
        A left-right mirrored image keeps its class (a shirt, not a digit): studies
        may then try flips as augmentation.
    """

    name: str
    title: str
    class_names: tuple[str, ...]
    train_images: IdxFile
    train_labels: IdxFile
    test_images: IdxFile
    test_labels: IdxFile
    mirrors: tuple[str, ...]
    image_shape: tuple[int, int] = (28, 28)
    pixel_max: float = 255.0
    apt_package: str | None = None
    flip_safe: bool = False

    @property
    def files(self) -> tuple[IdxFile, IdxFile, IdxFile, IdxFile]:
        """The four files in the order train images, train labels, test images, test labels."""
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)

    @property
    def layouts(self) -> tuple[Layout]:
        """The four files, each plain or gzipped."""
        return (Layout(tuple(file.name for file in self.files), suffixes=("", ".gz")),)

    @property
    def downloads(self) -> tuple[PublishedFile, ...]:
        """The four gzipped files as published."""
        return tuple(PublishedFile(file.archive_name, file.archive_sha256) for file in self.files)


@dataclass(frozen=True)
class SvhnEntry:
    """SVHN's cropped digits ("format 2"): two MATLAB files, ``X`` and ``y`` in each.

    Parameters
    ----------
    name, title, class_names, mirrors, image_shape, pixel_max, apt_package, flip_safe
        As for :class:`IdxDataset`; ``image_shape`` is (height, width, channels).
    train, test : PublishedFile
        The two ``.mat`` files.
    """

    name: str
    title: str
    class_names: tuple[str, ...]
    train: PublishedFile
    test: PublishedFile
    mirrors: tuple[str, ...]
    image_shape: tuple[int, int, int] = (32, 32, 3)
    pixel_max: float = 255.0
    apt_package: str | None = None
    flip_safe: bool = False

    @property
    def layouts(self) -> tuple[Layout]:
        """Both files, side by side."""
        return (Layout((self.train.name, self.test.name)),)

    @property
    def downloads(self) -> tuple[PublishedFile, PublishedFile]:
        """Both files."""
        return (self.train, self.test)


@dataclass(frozen=True)
class CifarEntry:
    """CIFAR-10's binary version: one archive of record files, or the folder it extracts to.

    Parameters
    ----------
    name, title, class_names, mirrors, image_shape, pixel_max, apt_package, flip_safe
        As for :class:`IdxDataset`; ``image_shape`` is (height, width, channels).
    archive : PublishedFile
        The ``.tar.gz`` archive, the only file with a published checksum.
    folder : str
        The folder the archive holds, and extracts to.
    train_batches, test_batches : tuple of str
        Record files in ``folder``, concatenated in this order.
    meta_file : str
        File in ``folder`` naming the classes, one per line.
    records_per_batch : int
        Images per record file in the published dataset, checked by ``verify``.
    """

    name: str
    title: str
    class_names: tuple[str, ...]
    archive: PublishedFile
    mirrors: tuple[str, ...]
    folder: str = "cifar-10-batches-bin"
    train_batches: tuple[str, ...] = tuple(f"data_batch_{number}.bin" for number in range(1, 6))
    test_batches: tuple[str, ...] = ("test_batch.bin",)
    meta_file: str = "batches.meta.txt"
    records_per_batch: int = 10_000
    image_shape: tuple[int, int, int] = (32, 32, 3)
    pixel_max: float = 255.0
    apt_package: str | None = None
    flip_safe: bool = False

    @property
    def folder_files(self) -> tuple[str, ...]:
        """The files of ``folder`` that are read: record files, then the class names."""
        return (*self.train_batches, *self.test_batches, self.meta_file)

    @property
    def layouts(self) -> tuple[Layout, Layout]:
        """The archive, else the folder extracted from it."""
        return (
            Layout((self.archive.name,)),
            Layout(
                self.folder_files,
                folder=self.folder,
                description=f"the {self.folder}/ folder extracted from it",
            ),
        )

    @property
    def downloads(self) -> tuple[PublishedFile]:
        """The archive."""
        return (self.archive,)


MNIST = IdxDataset(
    name="mnist",
    title="MNIST",
    class_names=tuple(str(digit) for digit in range(10)),
    train_images=IdxFile(
        "train-images-idx3-ubyte",
        archive_sha256="440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        content_sha256="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    train_labels=IdxFile(
        "train-labels-idx1-ubyte",
        archive_sha256="3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        content_sha256="65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    test_images=IdxFile(
        "t10k-images-idx3-ubyte",
        archive_sha256="8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        content_sha256="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    test_labels=IdxFile(
        "t10k-labels-idx1-ubyte",
        archive_sha256="f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        content_sha256="ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
    mirrors=(
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
    ),
)

FASHION_MNIST = IdxDataset(
    name="fashion-mnist",
    title="Fashion-MNIST",
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    train_images=IdxFile(
        "train-images-idx3-ubyte",
        archive_sha256="3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        content_sha256="c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    train_labels=IdxFile(
        "train-labels-idx1-ubyte",
        archive_sha256="a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        content_sha256="bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    test_images=IdxFile(
        "t10k-images-idx3-ubyte",
        archive_sha256="346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        content_sha256="5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    test_labels=IdxFile(
        "t10k-labels-idx1-ubyte",
        archive_sha256="67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        content_sha256="0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
    # The S3 website endpoint only speaks http; the checksum protects the content.
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    apt_package="dataset-fashion-mnist",
    flip_safe=True,
)

IDX_CATALOG: dict[str, IdxDataset] = {entry.name: entry for entry in (MNIST, FASHION_MNIST)}

SVHN = SvhnEntry(
    name="svhn",
    title="SVHN",
    # The files label the digit 0 as 10; the loader maps it back, so label = digit.
    class_names=tuple(str(digit) for digit in range(10)),
    train=PublishedFile(
        "train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373", algorithm="md5", size=182_040_794
    ),
    test=PublishedFile(
        "test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3", algorithm="md5", size=64_275_384
    ),
    # The site only speaks http; the checksum protects the content.
    mirrors=("http://ufldl.stanford.edu/housenumbers/",),
)

CIFAR10 = CifarEntry(
    name="cifar10",
    title="CIFAR-10",
    class_names=(
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ),
    archive=PublishedFile(
        "cifar-10-binary.tar.gz",
        "c32a1d4ab5d03f1284b67883e8d87530",
        algorithm="md5",
        size=170_052_171,
    ),
    mirrors=("https://www.cs.toronto.edu/~kriz/",),
    flip_safe=True,
)

CATALOG: dict[str, DatasetEntry] = {**IDX_CATALOG, SVHN.name: SVHN, CIFAR10.name: CIFAR10}


# scikit-learn's bundled digits: 8x8 images of the digits 0-9.
DIGITS_GEOMETRY = ((8, 8), 10)


def dataset_geometry(name: str) -> tuple[tuple[int, ...], int]:
    """Image shape and number of classes of dataset ``name``, without loading it.

    The shape is (height, width) for grey images, (height, width, channels) for colour.
    """
    if name in CATALOG:
        entry = CATALOG[name]
        return tuple(entry.image_shape), len(entry.class_names)
    return DIGITS_GEOMETRY
