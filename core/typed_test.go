package gue

import (
	"errors"
	"strings"
	"testing"
)

type greeting struct {
	Name  string `json:"name"`
	Times int    `json:"times"`
}

func TestTypedArgs(t *testing.T) {
	j, err := NewJob("Greet", greeting{Name: "gue", Times: 2})
	if err != nil || j.Type != "Greet" || string(j.Args) != `{"name":"gue","times":2}` {
		t.Fatalf("NewJob = %+v, %v", j, err)
	}
	if _, err := NewJob("Bad", make(chan int)); !errors.Is(err, ErrInvalidArgs) {
		t.Errorf("NewJob of a channel = %v; want ErrInvalidArgs", err)
	}
	var got greeting
	wf := WorkFor(func(_ *Job, g greeting) error { got = g; return nil })
	if err := wf(j); err != nil || got != (greeting{"gue", 2}) {
		t.Errorf("WorkFor decoded %+v, %v", got, err)
	}
	err = wf(&Job{ID: 3, Type: "Greet", Args: []byte(`"not an object"`)})
	if !errors.Is(err, ErrInvalidArgs) || !strings.Contains(err.Error(), "gue.greeting") {
		t.Errorf("WorkFor of undecodable args = %v; want ErrInvalidArgs naming the type", err)
	}
}
