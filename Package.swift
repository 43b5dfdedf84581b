// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Simile",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Simile", targets: ["Simile"]),
        .executable(name: "simile", targets: ["SimileCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
    ],
    targets: [
        // The C signatures of the BLAS routines Simile calls, and CPU feature detection.
        // The library itself is loaded at run time (see Sources/Simile/Core/BLASLibrary.swift),
        // so that OpenBLAS's kernel can be chosen before it initialises.
        .systemLibrary(
            name: "CSimileBLAS",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // Element-wise kernels compiled with function multiversioning (AVX-512 / AVX2 / baseline).
        .target(name: "CSimileKernels"),
        .target(
            name: "Simile",
            dependencies: [
                "CSimileBLAS",
                "CSimileKernels",
                .product(name: "RealModule", package: "swift-numerics"),
            ]
        ),
        .executableTarget(
            name: "SimileCLI",
            dependencies: [
                "Simile",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "SimileTests",
            dependencies: ["Simile"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
