package graph

import (
	"fmt"

	"github.com/frugal-ml/frugal/tensor"
)

// Attribute constructors, used by the model zoo, passes and tests.

// AttrI makes an int attribute.
func AttrI(name string, v int64) *Attr { return &Attr{Name: name, Type: AttrInt, I: v} }

// AttrF makes a float attribute.
func AttrF(name string, v float32) *Attr { return &Attr{Name: name, Type: AttrFloat, F: v} }

// AttrS makes a string attribute.
func AttrS(name, v string) *Attr { return &Attr{Name: name, Type: AttrString, S: v} }

// IntsAttr makes an ints attribute.
func IntsAttr(name string, v ...int64) *Attr { return &Attr{Name: name, Type: AttrInts, Ints: v} }

// FloatsAttr makes a floats attribute.
func FloatsAttr(name string, v ...float32) *Attr {
	return &Attr{Name: name, Type: AttrFloats, Floats: v}
}

// AttrT makes a tensor attribute.
func AttrT(name string, t *tensor.Tensor) *Attr { return &Attr{Name: name, Type: AttrTensor, T: t} }

// AttrG makes a graph attribute.
func AttrG(name string, g *Graph) *Attr { return &Attr{Name: name, Type: AttrGraph, G: g} }

// Attribute getters with defaults. They return an error when the attribute
// exists with the wrong type, so a malformed model is reported, not guessed.

// Int returns the int attribute name or def.
func (n *Node) Int(name string, def int64) (int64, error) {
	a, ok := n.Attrs[name]
	if !ok {
		return def, nil
	}
	if a.Type != AttrInt {
		return 0, fmt.Errorf("%s: attribute %q is %s, want int", n.Describe(), name, attrTypeName(a.Type))
	}
	return a.I, nil
}

// Float returns the float attribute name or def.
func (n *Node) Float(name string, def float32) (float32, error) {
	a, ok := n.Attrs[name]
	if !ok {
		return def, nil
	}
	if a.Type != AttrFloat {
		return 0, fmt.Errorf("%s: attribute %q is %s, want float", n.Describe(), name, attrTypeName(a.Type))
	}
	return a.F, nil
}

// String returns the string attribute name or def.
func (n *Node) String(name string, def string) (string, error) {
	a, ok := n.Attrs[name]
	if !ok {
		return def, nil
	}
	if a.Type != AttrString {
		return "", fmt.Errorf("%s: attribute %q is %s, want string", n.Describe(), name, attrTypeName(a.Type))
	}
	return a.S, nil
}

// Ints returns the ints attribute name or def.
func (n *Node) Ints(name string, def []int64) ([]int64, error) {
	a, ok := n.Attrs[name]
	if !ok {
		return def, nil
	}
	if a.Type != AttrInts {
		return nil, fmt.Errorf("%s: attribute %q is %s, want ints", n.Describe(), name, attrTypeName(a.Type))
	}
	return a.Ints, nil
}

// Floats returns the floats attribute name or def.
func (n *Node) Floats(name string, def []float32) ([]float32, error) {
	a, ok := n.Attrs[name]
	if !ok {
		return def, nil
	}
	if a.Type != AttrFloats {
		return nil, fmt.Errorf("%s: attribute %q is %s, want floats", n.Describe(), name, attrTypeName(a.Type))
	}
	return a.Floats, nil
}

// Tensor returns the tensor attribute name or nil.
func (n *Node) Tensor(name string) (*tensor.Tensor, error) {
	a, ok := n.Attrs[name]
	if !ok {
		return nil, nil
	}
	if a.Type != AttrTensor {
		return nil, fmt.Errorf("%s: attribute %q is %s, want tensor", n.Describe(), name, attrTypeName(a.Type))
	}
	return a.T, nil
}

// Has reports whether the attribute is present.
func (n *Node) Has(name string) bool { _, ok := n.Attrs[name]; return ok }

// SetAttr adds or replaces an attribute.
func (n *Node) SetAttr(a *Attr) {
	if n.Attrs == nil {
		n.Attrs = map[string]*Attr{}
	}
	n.Attrs[a.Name] = a
}

// Input returns input i or "" when absent.
func (n *Node) Input(i int) string {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return ""
}

func attrTypeName(t AttrType) string {
	switch t {
	case AttrFloat:
		return "float"
	case AttrInt:
		return "int"
	case AttrString:
		return "string"
	case AttrTensor:
		return "tensor"
	case AttrGraph:
		return "graph"
	case AttrFloats:
		return "floats"
	case AttrInts:
		return "ints"
	case AttrStrings:
		return "strings"
	case AttrTensors:
		return "tensors"
	case AttrGraphs:
		return "graphs"
	}
	return fmt.Sprintf("type %d", t)
}
