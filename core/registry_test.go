package gue

import "testing"

func TestPGArrayQuotesEveryElement(t *testing.T) {
	if got := pgArray(nil); got != `{}` {
		t.Errorf("pgArray(nil) = %s", got)
	}
	if got, want := pgArray([]string{"a", `b"c`, `d\e`, "", "{x,y}"}), `{"a","b\"c","d\\e","","{x,y}"}`; got != want {
		t.Errorf("pgArray = %s, want %s", got, want)
	}
}
