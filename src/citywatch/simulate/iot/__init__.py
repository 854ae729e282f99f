"""The synthetic city's IoT fleet, its everyday traffic and the ``iot-botnet`` scenario."""
