package ops

import (
	"testing"

	"github.com/frugal-ml/frugal/graph"
)

func TestTfIdfVectorizer(t *testing.T) {
	// Pool: unigrams [2, 3], bigram [2 3]; outputs 0..2.
	n := mk("TfIdfVectorizer", 1, 1,
		graph.AttrI("min_gram_length", 1), graph.AttrI("max_gram_length", 2), graph.AttrI("max_skip_count", 1),
		graph.AttrS("mode", "TF"), graph.IntsAttr("ngram_counts", 0, 2), graph.IntsAttr("ngram_indexes", 0, 1, 2),
		graph.IntsAttr("pool_int64s", 2, 3, 2, 3))
	y := run1(t, n, 9, i64s(sh(5), 2, 3, 2, 9, 3))
	// unigrams: 2 twice, 3 twice; bigram (2,3): adjacent once, skip-1 (2,_,3)... at positions (0,2)? 2,2 no; (2,4): 2..3 yes.
	expect(t, "TF", y, sh(3), []float64{2, 2, 2}, 0)
	idf := mk("TfIdfVectorizer", 1, 1,
		graph.AttrI("min_gram_length", 1), graph.AttrI("max_gram_length", 1), graph.AttrI("max_skip_count", 0),
		graph.AttrS("mode", "TFIDF"), graph.IntsAttr("ngram_counts", 0), graph.IntsAttr("ngram_indexes", 0, 1),
		graph.IntsAttr("pool_int64s", 2, 3), graph.FloatsAttr("weights", 0.5, 2))
	expect(t, "TFIDF batch", run1(t, idf, 9, i64s(sh(2, 2), 2, 2, 3, 9)), sh(2, 2), []float64{1, 0, 0, 2}, 0)
}
