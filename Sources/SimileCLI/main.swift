import Simile
print(Registry.builtin.descriptors(.loss).map(\.name))
