"""edgemt's Keras definitions of the catalog networks keras.applications lacks.

AlexNet, ResNet-18, SqueezeNet 1.0 and DenseNet-161, laid out like torchvision's
(channels-last), so their parameter counts match the study's Table I: 61.1M, 11.7M,
1.25M and 28.7M (Keras also counts BatchNorm moving statistics, <0.2% more).
Imported only inside a tensorflow child (or prepare_tflite.py).
"""


def _keras():
    import keras

    return keras


def alexnet(classes=1000):
    keras = _keras()
    L = keras.layers
    x = inp = keras.Input((224, 224, 3))
    x = L.ZeroPadding2D(2)(x)
    x = L.Conv2D(64, 11, strides=4, activation="relu")(x)
    x = L.MaxPooling2D(3, 2)(x)
    x = L.Conv2D(192, 5, padding="same", activation="relu")(x)
    x = L.MaxPooling2D(3, 2)(x)
    x = L.Conv2D(384, 3, padding="same", activation="relu")(x)
    x = L.Conv2D(256, 3, padding="same", activation="relu")(x)
    x = L.Conv2D(256, 3, padding="same", activation="relu")(x)
    x = L.MaxPooling2D(3, 2)(x)  # 6 x 6 x 256
    x = L.Flatten()(x)
    x = L.Dropout(0.5)(x)
    x = L.Dense(4096, activation="relu")(x)
    x = L.Dropout(0.5)(x)
    x = L.Dense(4096, activation="relu")(x)
    x = L.Dense(classes)(x)
    return keras.Model(inp, x, name="alexnet")


def _bn(L):
    return L.BatchNormalization(epsilon=1e-5, momentum=0.9)


def resnet18(classes=1000):
    keras = _keras()
    L = keras.layers
    x = inp = keras.Input((224, 224, 3))
    x = L.Conv2D(64, 7, strides=2, padding="same", use_bias=False)(x)
    x = L.ReLU()(_bn(L)(x))
    x = L.MaxPooling2D(3, 2, padding="same")(x)
    for stage, filters in enumerate((64, 128, 256, 512)):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            shortcut = x
            y = L.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
            y = L.ReLU()(_bn(L)(y))
            y = L.Conv2D(filters, 3, padding="same", use_bias=False)(y)
            y = _bn(L)(y)
            if stride != 1 or int(shortcut.shape[-1]) != filters:
                shortcut = L.Conv2D(filters, 1, strides=stride, use_bias=False)(shortcut)
                shortcut = _bn(L)(shortcut)
            x = L.ReLU()(L.Add()([y, shortcut]))
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(classes)(x)
    return keras.Model(inp, x, name="resnet18")


def squeezenet1_0(classes=1000):
    keras = _keras()
    L = keras.layers

    def fire(x, squeeze, e1, e3):
        s = L.Conv2D(squeeze, 1, activation="relu")(x)
        a = L.Conv2D(e1, 1, activation="relu")(s)
        b = L.Conv2D(e3, 3, padding="same", activation="relu")(s)
        return L.Concatenate()([a, b])

    x = inp = keras.Input((224, 224, 3))
    x = L.Conv2D(96, 7, strides=2, activation="relu")(x)
    x = L.MaxPooling2D(3, 2, padding="same")(x)
    x = fire(x, 16, 64, 64)
    x = fire(x, 16, 64, 64)
    x = fire(x, 32, 128, 128)
    x = L.MaxPooling2D(3, 2, padding="same")(x)
    x = fire(x, 32, 128, 128)
    x = fire(x, 48, 192, 192)
    x = fire(x, 48, 192, 192)
    x = fire(x, 64, 256, 256)
    x = L.MaxPooling2D(3, 2, padding="same")(x)
    x = fire(x, 64, 256, 256)
    x = L.Dropout(0.5)(x)
    x = L.Conv2D(classes, 1, activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inp, x, name="squeezenet1_0")


def densenet161(classes=1000, growth=48, blocks=(6, 12, 36, 24), init_features=96, bn_size=4):
    keras = _keras()
    L = keras.layers
    x = inp = keras.Input((224, 224, 3))
    x = L.Conv2D(init_features, 7, strides=2, padding="same", use_bias=False)(x)
    x = L.ReLU()(_bn(L)(x))
    x = L.MaxPooling2D(3, 2, padding="same")(x)
    features = init_features
    for i, n in enumerate(blocks):
        for _ in range(n):
            y = L.ReLU()(_bn(L)(x))
            y = L.Conv2D(bn_size * growth, 1, use_bias=False)(y)
            y = L.ReLU()(_bn(L)(y))
            y = L.Conv2D(growth, 3, padding="same", use_bias=False)(y)
            x = L.Concatenate()([x, y])
            features += growth
        if i != len(blocks) - 1:
            features //= 2
            x = L.ReLU()(_bn(L)(x))
            x = L.Conv2D(features, 1, use_bias=False)(x)
            x = L.AveragePooling2D(2, 2)(x)
    x = L.ReLU()(_bn(L)(x))
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(classes)(x)
    return keras.Model(inp, x, name="densenet161")


OWN = {"alexnet": alexnet, "resnet18": resnet18, "squeezenet1_0": squeezenet1_0, "densenet161": densenet161}
