package hubtest

import "testing"

func BenchmarkGenerate100k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Generate(GenOptions{Models: 100000, Seed: 1})
	}
}
