/// "Did you mean ...?" for mistyped names.
///
/// Names are compared after folding case and dropping `-`, `_` and spaces, so `pos_margin`
/// finds `pos-margin` and `MultiSimilarityLoss` finds `multi-similarity`. A candidate that is a
/// prefix of the typed name (or the other way round) wins; otherwise the closest one by edit
/// distance, if it is close enough to be a plausible typo.
public enum Suggestions {
    public static func closest(to name: String, among candidates: [String]) -> String? {
        let typed = fold(name)
        guard !typed.isEmpty else { return nil }
        var best: (candidate: String, score: Int)?
        for candidate in candidates {
            let folded = fold(candidate)
            guard !folded.isEmpty else { continue }
            let score: Int
            if folded == typed {
                score = 0
            } else if (folded.hasPrefix(typed) || typed.hasPrefix(folded)) && min(folded.count, typed.count) >= 3 {
                // A prefix is a strong hint when the shorter side carries information ("m" is no
                // hint for "margin").
                score = 1
            } else {
                let distance = editDistance(typed, folded)
                let limit = max(2, min(typed.count, folded.count) / 3)
                guard distance <= limit else { continue }
                score = 1 + distance
            }
            if best == nil || score < best!.score { best = (candidate, score) }
        }
        return best?.candidate
    }

    static func fold(_ name: String) -> String {
        String(name.lowercased().filter { $0 != "-" && $0 != "_" && $0 != " " })
    }

    /// Levenshtein distance between two strings.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
