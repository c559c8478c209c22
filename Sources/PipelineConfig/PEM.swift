import Foundation

/// The minimal PEM reading `check-config` needs: labelled blocks with a base64 body.
enum PEM {
    /// Why `text` holds no valid block whose label ends with `label` (`PRIVATE KEY` matches `RSA PRIVATE KEY`
    /// and `EC PRIVATE KEY`), or nil when it holds one and every block in it is well formed.
    static func problem(in text: String, expecting label: String) -> String? {
        var found = false
        var current: (label: String, body: String)?
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("-----BEGIN "), line.hasSuffix("-----") {
                if let current { return "\"BEGIN \(current.label)\" has no END line" }
                current = (String(line.dropFirst(11).dropLast(5)), "")
            } else if line.hasPrefix("-----END "), line.hasSuffix("-----") {
                let endLabel = String(line.dropFirst(9).dropLast(5))
                guard let block = current, block.label == endLabel else {
                    return "\"END \(endLabel)\" does not close a BEGIN \(endLabel)"
                }
                guard !block.body.isEmpty, Data(base64Encoded: block.body) != nil else {
                    return "the \(block.label) block's body is not base64"
                }
                if block.label.hasSuffix(label) { found = true }
                current = nil
            } else if var block = current, !line.contains(":") {  // "Proc-Type: ..." headers are not body
                block.body += line
                current = block
            }
        }
        if let current { return "\"BEGIN \(current.label)\" has no END line" }
        return found ? nil : "no \(label) block (-----BEGIN ...\(label)-----)"
    }
}
