include(CMakePackageConfigHelpers)
install(DIRECTORY libeventmesh/include/eventmesh
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
