"""Declarations of the IDX datasets: their files, mirrors, checksums and class names.

Each dataset is one :class:`CatalogEntry`. Tests and users with their own mirror build
an entry of their own (or ``dataclasses.replace`` one of these) and pass it to
:func:`bench.data.loaders.load_idx_dataset`.
"""

from dataclasses import dataclass


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
class CatalogEntry:
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

    @property
    def files(self) -> tuple[IdxFile, IdxFile, IdxFile, IdxFile]:
        """The four files in the order train images, train labels, test images, test labels."""
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)


MNIST = CatalogEntry(
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

FASHION_MNIST = CatalogEntry(
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
)

IDX_CATALOG: dict[str, CatalogEntry] = {entry.name: entry for entry in (MNIST, FASHION_MNIST)}
