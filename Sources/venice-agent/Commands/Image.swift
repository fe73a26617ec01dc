import ArgumentParser

/// `venice-agent image …`
struct Image: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate images through the agent (POST /image/generate) and list style presets.",
        subcommands: [ImageGenerate.self, ImageStyles.self]
    )
}
