"""Selection: which consignments customs controls, and how, under the capacity it really has."""
