import ArgumentParser

struct KeystoreOption: ParsableArguments {
    @Option(name: .long, help: "Path of the keystore (Web3 Secret Storage v3 JSON).")
    var keystore: String
}

struct PasswordOption: ParsableArguments {
    @Option(name: .long, help: "File holding the keystore password (one trailing newline is ignored). Without it, the password is asked on the terminal.")
    var passwordFile: String?
}
