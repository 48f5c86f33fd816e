// The one source file of visrl_torch_pch (cmake/VisrlPch.cmake): the target exists to build the
// precompiled LibTorch headers that the other targets reuse.
